/// `--bits B`: for each converted matrix, one of its candidate encodings (formats, or its
/// source precision), so that the average bits per converted weight, scales included, is at
/// most B and the summed loss is the least.
///
/// A multiple-choice knapsack, solved by dynamic programming over matrices × steps of the
/// budget: each candidate's bits are rounded down to `resolution` steps of the whole budget,
/// the least loss is kept for every step count, and the end states are tried from the least
/// loss up until one fits the real budget in exact bits. Where every candidate's bits are
/// whole steps this is the exact optimum; otherwise rounding moves each matrix by less than
/// one step (1/4096 of the budget by default).
public struct BitBudget: Sendable {
    public struct Candidate: Sendable, Equatable {
        /// A name for reports: a format name such as "b2g128", or "source".
        public var label: String
        /// Every bit the matrix holds in this encoding: planes, scales, offsets.
        public var bits: Int
        /// The estimated damage of this encoding (lower is better; the same unit for every matrix).
        public var loss: Double

        public init(label: String, bits: Int, loss: Double) {
            self.label = label
            self.bits = bits
            self.loss = loss
        }
    }

    public struct Matrix: Sendable {
        public var name: String
        /// N·K, the weights the average is over.
        public var weights: Int
        public var candidates: [Candidate]

        public init(name: String, weights: Int, candidates: [Candidate]) {
            self.name = name
            self.weights = weights
            self.candidates = candidates
        }
    }

    public struct Choice: Sendable, Equatable {
        /// For each matrix, the index of its chosen candidate.
        public var indices: [Int]
        public var bits: Int
        public var loss: Double
        /// bits / Σ weights.
        public var bitsPerWeight: Double
    }

    public struct Infeasible: Error, CustomStringConvertible {
        public var smallest: Double
        public var budget: Double
        public var description: String {
            "a budget of \(budget) bits per weight is below the smallest encoding of these matrices (\(smallest) bits per weight)"
        }
    }

    public var matrices: [Matrix]
    public var resolution: Int

    public init(matrices: [Matrix], resolution: Int = 4096) {
        precondition(resolution >= 1, "resolution must be positive")
        precondition(matrices.allSatisfy { !$0.candidates.isEmpty }, "every matrix needs a candidate")
        self.matrices = matrices
        self.resolution = resolution
    }

    public var totalWeights: Int { matrices.reduce(0) { $0 + $1.weights } }

    /// The least-loss choice whose average bits per weight is at most `bitsPerWeight`.
    public func choose(bitsPerWeight budget: Double) throws -> Choice {
        let weights = Double(totalWeights)
        let budgetBits = budget * weights
        let smallest = matrices.reduce(0) { $0 + $1.candidates.map(\.bits).min()! }
        guard Double(smallest) <= budgetBits else {
            throw Infeasible(smallest: Double(smallest) / weights, budget: budget)
        }
        let step = budgetBits / Double(resolution)
        func cost(_ c: Candidate) -> Int {
            guard step > 0 else { return c.bits == 0 ? 0 : resolution + 1 }
            return Int(min((Double(c.bits) / step).rounded(.down), Double(resolution + 1)))
        }
        let width = resolution + 1
        // best[s]: least loss of the matrices so far using exactly s steps (inf: unreachable).
        var best = [Double](repeating: .infinity, count: width)
        best[0] = 0
        var picked: [[Int32]] = []
        picked.reserveCapacity(matrices.count)
        for matrix in matrices {
            var next = [Double](repeating: .infinity, count: width)
            var pick = [Int32](repeating: -1, count: width)
            for (index, candidate) in matrix.candidates.enumerated() {
                let c = cost(candidate)
                guard c < width else { continue }
                for s in 0..<(width - c) where best[s].isFinite {
                    let loss = best[s] + candidate.loss
                    if loss < next[s + c] {
                        next[s + c] = loss
                        pick[s + c] = Int32(index)
                    }
                }
            }
            best = next
            picked.append(pick)
        }
        let ends = best.indices.filter { best[$0].isFinite }.sorted { best[$0] < best[$1] }
        for end in ends {
            var indices = [Int](repeating: 0, count: matrices.count)
            var s = end
            for m in stride(from: matrices.count - 1, through: 0, by: -1) {
                let index = Int(picked[m][s])
                indices[m] = index
                s -= cost(matrices[m].candidates[index])
            }
            let result = choice(indices)
            if Double(result.bits) <= budgetBits { return result }
        }
        // Rounding down let every kept set overshoot: every matrix's smallest fits (checked above).
        return choice(matrices.map { m in m.candidates.indices.min { m.candidates[$0].bits < m.candidates[$1].bits }! })
    }

    /// The choice of fewest bits whose summed loss is at most `limit` (`--max-kl`): the least
    /// budget whose least-loss choice meets it, found by bisection (the least loss never grows
    /// with the budget), to 1/1000 of a bit per weight.
    public func fewestBits(maximumLoss limit: Double, what: String = "loss") throws -> Choice {
        let weights = Double(max(totalWeights, 1))
        let smallest = Double(matrices.reduce(0) { $0 + $1.candidates.map(\.bits).min()! }) / weights
        let largest = Double(matrices.reduce(0) { $0 + $1.candidates.map(\.bits).max()! }) / weights
        var best = try choose(bitsPerWeight: largest)
        guard best.loss <= limit else {
            throw CalibrationError("the estimated \(what) cannot be brought to \(limit): it is \(best.loss) with every matrix in its largest encoding (\(best.bitsPerWeight) bits per weight)")
        }
        var (low, high) = (smallest, largest)
        let first = try choose(bitsPerWeight: smallest)
        if first.loss <= limit { return first }
        while high - low > 1e-3 {
            let middle = (low + high) / 2
            let candidate = try choose(bitsPerWeight: middle)
            if candidate.loss <= limit {
                best = candidate
                high = middle
            } else {
                low = middle
            }
        }
        return best
    }

    func choice(_ indices: [Int]) -> Choice {
        var bits = 0, loss = 0.0
        for (m, index) in indices.enumerated() {
            bits += matrices[m].candidates[index].bits
            loss += matrices[m].candidates[index].loss
        }
        return Choice(indices: indices, bits: bits, loss: loss, bitsPerWeight: Double(bits) / Double(max(totalWeights, 1)))
    }
}
