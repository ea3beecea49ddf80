@testable import Calibration
import Graph
import Formats
import Models
import Runtime
import TestSupport
import Testing

/// Statistics in GPTQ's sequential order: a stage's inputs are computed with the earlier
/// stages' weights replaced. Held to float64 sums of the known inputs on the small chain graph
/// of `InputStatisticsTests`, and, with nothing replaced, to the one-pass collector on the
/// demo Llama, whose stages cut through attention, its KV cache and the rotary embedding.
@Suite struct SequentialInputStatisticsTests {
    typealias Chain = InputStatisticsTests

    @Test func aReplacedWeightChangesTheInputsOfTheStagesAfterIt() throws {
        let staged = try SequentialInputStatistics(graph: Chain.graph, weights: ["w1", "w2", "w3"], sequences: Chain.sequences)
        // w1 and w2 read the embedding; w3 reads w1's product.
        #expect(staged.stages == [["w1", "w2"], ["w3"]])
        let first = try staged.collectNext(quantized: [:])
        #expect(first.stage == 0 && Set(first.statistics.keys) == ["w1", "w2"])
        let embedded = Chain.sequences.flatMap { $0 }.map { id in (0..<Chain.k).map { Double(Chain.table[id * Chain.k + $0]) } }
        try Chain.check(first.statistics["w1"], embedded, width: Chain.k, "w1")
        try Chain.check(first.statistics["w2"], embedded, width: Chain.k, "w2")

        // w1 as quantized: its signs times 0.5.
        let replaced = Chain.w1.map { $0 < 0 ? Float(-0.5) : 0.5 }
        let second = try staged.collectNext(quantized: ["w1": replaced, "w2": Chain.w2])
        #expect(second.stage == 1 && Set(second.statistics.keys) == ["w3"])
        let projected = embedded.map { x in (0..<Chain.n1).map { j in (0..<Chain.k).reduce(0.0) { $0 + x[$1] * Double(replaced[j * Chain.k + $1]) } } }
        try Chain.check(second.statistics["w3"], projected, width: Chain.n1, "w3")
        #expect(throws: CalibrationError.self) { try staged.collectNext(quantized: [:]) }
    }

    @Test func aReplacementOfTheWrongSizeIsRefused() throws {
        let staged = try SequentialInputStatistics(graph: Chain.graph, weights: ["w1", "w3"], sequences: Chain.sequences)
        _ = try staged.collectNext(quantized: [:])
        let error = try #require(throws: CalibrationError.self) { try staged.collectNext(quantized: ["w1": [1, 2, 3]]) }
        #expect(error.description.contains("w1") && error.description.contains("not 3"))
    }

    @Test func withNothingReplacedTheStagesGiveTheOnePassStatistics() throws {
        let built = try ModelRegistry.build(try ModelOpener.open(fixturePath("demo/tiny-llama")), options: .init(contextLength: 64))
        let graph = built.graph
        let weights = Set(graph.initializers.filter { $0.name.hasPrefix("blk.") && $0.shape.count == 2 }.map(\.name))
        let sequences = [Array(repeating: 0, count: 1) + (1..<40).map { ($0 * 37) % 256 }, (0..<23).map { ($0 * 11 + 5) % 256 }]
        let expected = try InputStatisticsCollector(graph: graph, weights: weights).collect(sequences)
        let staged = try SequentialInputStatistics(graph: graph, weights: weights, sequences: sequences)
        let layers = Set(weights.map { $0.split(separator: ".")[1] }).count
        // q, k and v; o; gate and up; down.
        #expect(staged.stages.count == 4 * layers, "\(staged.stages)")
        #expect(Set(staged.stages.flatMap { $0 }) == weights)
        var seen = 0
        for _ in staged.stages.indices {
            let (stage, statistics) = try staged.collectNext(quantized: [:])
            #expect(Set(statistics.keys) == Set(staged.stages[stage]))
            for (name, s) in statistics {
                let e = try #require(expected[name])
                let scale = e.hessian.map(abs).max() ?? 1
                let difference = zip(s.hessian, e.hessian).map { abs($0 - $1) }.max() ?? .infinity
                #expect(s.rows == e.rows && s.hessian.count == e.hessian.count && difference <= 1e-5 * scale,
                        "\(name): rows \(s.rows) against \(e.rows), Hessian differs by \(difference) of \(scale)")
                seen += 1
            }
        }
        #expect(seen == weights.count)
    }
}
