@testable import Calibration
import Foundation
import Graph
import Testing

/// The KL divergence `--bits` measures per matrix, held to the same divergence computed here
/// in float64 from the small chain graph of `InputStatisticsTests`: its logits are
/// ((E[ids]·W1ᵀ)·W3)·Oᵀ, whatever runtime computes them.
@Suite struct MatrixSensitivityTests {
    typealias Chain = InputStatisticsTests

    /// The logits [tokens, vocabulary] of the chain with W1 = `w1`, in float64.
    static func logits(_ tokens: [Int], w1: [Float]) -> [[Double]] {
        let output = Chain.graph.initializers.first { $0.name == "output.weight" }!
        let o = try! output.floatValues()
        return tokens.map { id in
            let x = (0..<Chain.k).map { Double(Chain.table[id * Chain.k + $0]) }
            let a = (0..<Chain.n1).map { r in (0..<Chain.k).reduce(0.0) { $0 + Double(w1[r * Chain.k + $1]) * x[$1] } }
            let c = (0..<Chain.n3).map { j in (0..<Chain.n1).reduce(0.0) { $0 + a[$1] * Double(Chain.w3[$1 * Chain.n3 + j]) } }
            return (0..<Chain.vocabulary).map { v in (0..<Chain.n3).reduce(0.0) { $0 + c[$1] * Double(o[v * Chain.n3 + $1]) } }
        }
    }

    static func logSoftmax(_ row: [Double]) -> [Double] {
        let top = row.max()!
        let total = log(row.reduce(0.0) { $0 + exp($1 - top) }) + top
        return row.map { $0 - total }
    }

    /// Mean over every position of every sequence of KL(float ‖ changed).
    static func expectedDivergence(_ sequences: [[Int]], changed: [Float]) -> Double {
        var sum = 0.0, count = 0
        for tokens in sequences {
            let base = logits(tokens, w1: Chain.w1), ours = logits(tokens, w1: changed)
            for (p, q) in zip(base, ours) {
                let lp = logSoftmax(p), lq = logSoftmax(q)
                sum += zip(lp, lq).reduce(0.0) { $0 + exp($1.0) * ($1.0 - $1.1) }
                count += 1
            }
        }
        return sum / Double(count)
    }

    @Test func theDivergenceOfOneChangedMatrixIsTheModelsKL() throws {
        let sensitivity = try MatrixSensitivity(graph: Chain.graph, sequences: Chain.sequences)
        // W1 with every sign of its first row flipped and the rest halved: a change the logits feel.
        let changed = Chain.w1.enumerated().map { $0.offset < Chain.k ? -$0.element : $0.element * 0.5 }
        let measured = try sensitivity.divergence(replacing: "w1", with: changed)
        let expected = Self.expectedDivergence(Chain.sequences, changed: changed)
        #expect(expected > 1e-3)
        #expect(abs(measured - expected) <= 1e-4 * expected + 1e-7, "measured \(measured), float64 \(expected)")
        // Its own values change nothing (up to the float32 log-probabilities kept).
        #expect(try sensitivity.divergence(replacing: "w1", with: Chain.w1) < 1e-6)
    }

    /// The chain without its head, as an encoder: its output vectors are c = (E[ids]·W1ᵀ)·W3.
    @Test func anEncodersSensitivityIsTheRelativeErrorOfItsOutputs() throws {
        var encoder = Chain.graph
        encoder.nodes.removeLast()
        encoder.outputs = [ValueInfo(name: "c")]
        encoder.initializers.removeAll { $0.name == "output.weight" }
        let sensitivity = try MatrixSensitivity(graph: encoder, sequences: Chain.sequences)
        #expect(sensitivity.measure == .hiddenStateError)
        let changed = Chain.w1.enumerated().map { $0.offset < Chain.k ? -$0.element : $0.element * 0.5 }
        func hidden(_ id: Int, _ w1: [Float]) -> [Double] {
            let x = (0..<Chain.k).map { Double(Chain.table[id * Chain.k + $0]) }
            let a = (0..<Chain.n1).map { r in (0..<Chain.k).reduce(0.0) { $0 + Double(w1[r * Chain.k + $1]) * x[$1] } }
            return (0..<Chain.n3).map { j in (0..<Chain.n1).reduce(0.0) { $0 + a[$1] * Double(Chain.w3[$1 * Chain.n3 + j]) } }
        }
        var sum = 0.0, count = 0
        for id in Chain.sequences.joined() {
            let h = hidden(id, Chain.w1), ours = hidden(id, changed)
            sum += zip(h, ours).reduce(0.0) { $0 + ($1.1 - $1.0) * ($1.1 - $1.0) } / h.reduce(0.0) { $0 + $1 * $1 }
            count += 1
        }
        let expected = sum / Double(count)
        let measured = try sensitivity.divergence(replacing: "w1", with: changed)
        #expect(expected > 1e-2)
        #expect(abs(measured - expected) <= 1e-4 * expected, "measured \(measured), float64 \(expected)")
    }

    @Test func aWeightItCannotReplaceIsAnError() throws {
        let sensitivity = try MatrixSensitivity(graph: Chain.graph, sequences: Chain.sequences)
        #expect(throws: CalibrationError.self) { try sensitivity.divergence(replacing: "nope", with: []) }
        #expect(throws: CalibrationError.self) { try sensitivity.divergence(replacing: "w1", with: [1, 2]) }
    }
}
