import Testing
import Tensors
@testable import Calibration

/// The allocator against exhaustive search, the oracle for small instances.
struct BitBudgetTests {
    /// Every combination of candidates; the least loss among those within `budgetBits`.
    func bruteForce(_ matrices: [BitBudget.Matrix], budgetBits: Double) -> Double? {
        var best: Double?
        func walk(_ m: Int, _ bits: Int, _ loss: Double) {
            if m == matrices.count {
                if Double(bits) <= budgetBits, best.map({ loss < $0 }) ?? true { best = loss }
                return
            }
            for c in matrices[m].candidates { walk(m + 1, bits + c.bits, loss + c.loss) }
        }
        walk(0, 0, 0)
        return best
    }

    @Test(arguments: 0..<40)
    func matchesExhaustiveSearchOnAGridOfBits(seed: Int) throws {
        var random = SplitMix64(seed: UInt64(seed))
        // Bits on a grid that the allocator's steps divide exactly, so rounding costs nothing and
        // the dynamic programme must find the exhaustive optimum.
        let count = 2 + Int(random.next() % 5)
        var matrices: [BitBudget.Matrix] = []
        for m in 0..<count {
            let candidates = (0..<(1 + Int(random.next() % 4))).map { c in
                BitBudget.Candidate(label: "c\(c)", bits: 8 * (1 + Int(random.next() % 16)), loss: Double(random.next() % 1000) / 7)
            }
            matrices.append(BitBudget.Matrix(name: "m\(m)", weights: 8, candidates: candidates))
        }
        let weights = Double(count * 8)
        let budgetSteps = 1 + Int(random.next() % UInt64(16 * count))
        let budget = BitBudget(matrices: matrices, resolution: budgetSteps)
        let bitsPerWeight = Double(budgetSteps * 8) / weights
        let expected = bruteForce(matrices, budgetBits: Double(budgetSteps * 8))
        if let expected {
            let choice = try budget.choose(bitsPerWeight: bitsPerWeight)
            #expect(Double(choice.bits) <= bitsPerWeight * weights)
            #expect(abs(choice.loss - expected) < 1e-9, "loss \(choice.loss), exhaustive \(expected)")
        } else {
            #expect(throws: BitBudget.Infeasible.self) { try budget.choose(bitsPerWeight: bitsPerWeight) }
        }
    }

    @Test func anyBitsStayWithinTheBudget() throws {
        var random = SplitMix64(seed: 99)
        for _ in 0..<50 {
            let matrices = (0..<6).map { m in
                BitBudget.Matrix(name: "m\(m)", weights: 1000 + Int(random.next() % 5000), candidates: (0..<4).map { c in
                    BitBudget.Candidate(label: "c\(c)", bits: 500 + Int(random.next() % 100_000), loss: Double(random.next() % 1000))
                })
            }
            let budget = BitBudget(matrices: matrices, resolution: 64)
            let smallest = Double(matrices.reduce(0) { $0 + $1.candidates.map(\.bits).min()! }) / Double(budget.totalWeights)
            let target = smallest * (1 + Double(random.next() % 100) / 50)
            let choice = try budget.choose(bitsPerWeight: target)
            #expect(choice.bitsPerWeight <= target + 1e-12)
        }
    }

    @Test func moreBitsNeverCostMoreLoss() throws {
        let matrices = [
            BitBudget.Matrix(name: "q", weights: 100, candidates: [.init(label: "b1", bits: 110, loss: 9), .init(label: "b2", bits: 220, loss: 3), .init(label: "source", bits: 1600, loss: 0)]),
            BitBudget.Matrix(name: "down", weights: 100, candidates: [.init(label: "b1", bits: 110, loss: 30), .init(label: "b2", bits: 220, loss: 4), .init(label: "source", bits: 1600, loss: 0)]),
        ]
        let budget = BitBudget(matrices: matrices)
        // 1.65 bits: only one matrix can have two planes, and it must be the one that loses more.
        let choice = try budget.choose(bitsPerWeight: 1.65)
        #expect(choice.indices == [0, 1])
        #expect(try budget.choose(bitsPerWeight: 2.2).indices == [1, 1])
        #expect(try budget.choose(bitsPerWeight: 16).indices == [2, 2])
        #expect(throws: BitBudget.Infeasible.self) { try budget.choose(bitsPerWeight: 1.0) }
    }
}
