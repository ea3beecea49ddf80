@testable import Calibration
import BitPacking
import Conversion
import Formats
import Foundation
import Generation
import Graph
import Models
import Runtime
import Tensors
import TestSupport
import Testing

/// Block-wise reconstruction on the trained demo Llama, rotated as a conversion rotates it (so
/// its half-blocks hold every decoder op the program knows, the online Hadamard included), and
/// on the BERT fixture for the encoder's ops. The
/// program's forward run is held to the runtime's kernels, its backward run to central finite
/// differences of the forward run, and the training to the float model it is taught by: the
/// next-byte KL of the model on held-out text.
@Suite struct BlockReconstructionTests {
    static func rotatedDemo() throws -> (graph: Graph, weights: Set<String>, layers: Int) {
        let built = try ModelRegistry.build(try ModelOpener.open(fixturePath("demo/tiny-llama")), options: .init(contextLength: 128))
        let (rotated, _) = try RotationPasses.apply(to: built.graph, seed: 14, storage: .float32)
        let weights = Set(rotated.initializers.filter { $0.name.hasPrefix("blk.") && $0.shape.count == 2 }.map(\.name))
        return (rotated, weights, built.config.numHiddenLayers)
    }

    /// Held-out bytes: the demo's validation prompts.
    static func heldOut() throws -> [[Int]] {
        try String(contentsOfFile: fixturePath("demo/tiny-llama/prompt-ids.txt"), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: ",").map { Int($0)! } }
    }

    static func constants(_ graph: Graph) -> [String: ConstantTensor] {
        Dictionary(graph.initializers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    static func program(_ graph: Graph, _ segment: ReconstructionSegment, width: Int) throws -> SegmentProgram {
        try SegmentProgram(nodes: Array(graph.nodes[segment.nodes]), input: segment.input, inputWidth: width,
                           constants: constants(graph), positions: LanguageModelNames.positionsInput)
    }

    /// Every cut value of one sequence, as the runtime computes it.
    static func cutValues(_ graph: Graph, _ segments: [ReconstructionSegment], tokens: [Int]) throws -> [String: [Float]] {
        var all = graph
        all.outputs = ([segments[0].input] + segments.map(\.output)).map { ValueInfo(name: $0) }
        let values = try Session(graph: all).run(inputs: try LanguageModelInputs.make(graph, tokens: tokens))
        return values.compactMapValues(\.floats)
    }

    static func floatWeights(_ graph: Graph, _ program: SegmentProgram) throws -> [String: [Float]] {
        let c = constants(graph)
        return try Dictionary(uniqueKeysWithValues: program.weights.keys.map { ($0, try c[$0]!.floatValues()) })
    }

    @Test func theSegmentsAreTheHalfBlocksAndRunAsTheRuntimeRunsThem() throws {
        let (graph, weights, layers) = try Self.rotatedDemo()
        let (prefix, segments) = ReconstructionSegment.find(graph, products: weights)
        #expect(segments.count == 2 * layers)
        #expect(Set(segments.flatMap(\.weights)) == weights)
        #expect(segments.allSatisfy { $0.weights.count == 4 || $0.weights.count == 3 }, "\(segments.map(\.weights))")
        #expect(graph.nodes[prefix].contains { $0.opType == "Embedding" })
        #expect(graph.nodes[segments[1].nodes].contains { $0.opType == "Hadamard" })
        let merged = ReconstructionSegment.find(graph, products: weights, merging: 2).segments
        #expect(merged.count == layers && merged.allSatisfy { $0.weights.count == 7 })
        try Self.checkForwardRuns(graph, segments, tokens: try Self.heldOut()[0])
    }

    /// BERT (post-norm, LayerNormalization, GELU, bidirectional attention): its halves end at
    /// the norms after each residual add, the last at the add itself.
    @Test func anEncodersSegmentsRunAsTheRuntimeRunsThem() throws {
        let (graph, weights) = try Self.bert()
        let (prefix, segments) = ReconstructionSegment.find(graph, products: weights)
        #expect(segments.count == 4 && Set(segments.flatMap(\.weights)) == weights, "\(segments.map(\.weights))")
        #expect(graph.nodes[prefix].contains { $0.opType == "LayerNormalization" })
        #expect(segments.dropLast().allSatisfy { graph.nodes[$0.nodes].last?.opType == "LayerNormalization" })
        try Self.checkForwardRuns(graph, segments, tokens: Self.bertTokens)
    }

    static func bert() throws -> (graph: Graph, weights: Set<String>) {
        let built = try ModelRegistry.build(try ModelOpener.open(fixturePath("llm/bert")))
        return (built.graph, Set(built.graph.initializers.filter { $0.name.hasPrefix("blk.") && $0.shape.count == 2 }.map(\.name)))
    }

    static let bertTokens = [2, 17, 93, 5, 44, 101, 8, 60, 3]

    static func checkForwardRuns(_ graph: Graph, _ segments: [ReconstructionSegment], tokens: [Int]) throws {
        let values = try Self.cutValues(graph, segments, tokens: tokens)
        for segment in segments {
            let x = try #require(values[segment.input])
            let program = try Self.program(graph, segment, width: x.count / tokens.count)
            let y = try program.forward(x, weights: try Self.floatWeights(graph, program)).output
            let reference = try #require(values[segment.output])
            let scale = reference.map(abs).max() ?? 1
            let difference = zip(y, reference).map { abs($0 - $1) }.max() ?? .infinity
            #expect(y.count == reference.count && difference <= 1e-5 * scale, "\(segment.output): \(difference) of \(scale)")
        }
    }

    @Test func aProgramOfAnOpItCannotDifferentiateIsRefused() throws {
        // An op it has no backward pass for, and a known op name in another domain.
        for node in [Node(name: "e", opType: "Erf", inputs: ["x"], outputs: ["y"]),
                     Node(name: "g", opType: "Gelu", domain: "com.microsoft", inputs: ["x"], outputs: ["y"])] {
            #expect(throws: SegmentProgram.ProgramError.self) {
                try SegmentProgram(nodes: [node], input: "x", inputWidth: 4, constants: [:], positions: "positions")
            }
        }
    }

    /// A sequence whose attention probabilities would not fit the bound is refused in one
    /// error before any block trains, not allocated.
    @Test func aSequenceTooLongForTheBackwardPassIsRefused() throws {
        let (graph, weights, _) = try Self.rotatedDemo()
        var quantized: [String: QuantizedMatrix] = [:]
        let constants = Self.constants(graph)
        for name in weights {
            let c = try #require(constants[name])
            quantized[name] = try RoundToNearestQuantizer().quantize(try c.floatValues(), n: c.shape[0], k: c.shape[1], format: try WeightFormat(name: "b1g64"), statistics: nil)
        }
        let original = quantized
        // 4 heads × 16400² probabilities × 4 bytes: 4.3 GB.
        let long = [(0..<16400).map { $0 % 256 }]
        let error = try #require(throws: CalibrationError.self) { try BlockReconstruction(epochs: 1).run(graph, sequences: long, quantized: &quantized) }
        #expect(error.description.contains("16400 tokens") && error.description.contains("--calib-ctx"), "\(error)")
        for (name, m) in quantized { #expect(m == original[name]) }
    }

    /// d/dε of L(v + ε·d) for L = Σ r ⊙ output, by central differences, against the backward
    /// run's gradient · d, for the input and each weight of the first attention and MLP halves.
    @Test(arguments: ["demo", "bert"])
    func gradientsAreTheFiniteDifferencesOfTheForwardRun(_ model: String) throws {
        let demo = try Self.rotatedDemo()
        let (graph, weights) = model == "bert" ? try Self.bert() : (demo.graph, demo.weights)
        let segments = ReconstructionSegment.find(graph, products: weights).segments
        let tokens = model == "bert" ? Self.bertTokens : Array(try Self.heldOut()[1].prefix(24))
        let values = try Self.cutValues(graph, segments, tokens: tokens)
        var random = SplitMix64(seed: 29)
        func uniform(_ count: Int) -> [Float] { (0..<count).map { _ in Float.random(in: -1...1, using: &random) } }
        func loss(_ y: [Float], _ r: [Float]) -> Double { zip(y, r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
        func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } }
        func rms(_ a: [Float]) -> Float { (a.reduce(0) { $0 + $1 * $1 } / Float(max(a.count, 1))).squareRoot() }

        for segment in segments.prefix(2) {
            let x = try #require(values[segment.input])
            let program = try Self.program(graph, segment, width: x.count / tokens.count)
            let w = try Self.floatWeights(graph, program)
            let r = uniform(x.count / program.inputWidth * program.outputWidth)
            let tape = try program.forward(x, weights: w)
            let gradients = try program.backward(tape, outputGradient: r, weights: w, trainable: Set(w.keys))
            var checks: [(String, Double, Double)] = []

            let dx = uniform(x.count)
            let ex = 1e-2 * rms(x) / rms(dx)
            let plus = try program.forward(zip(x, dx).map { $0 + ex * $1 }, weights: w).output
            let minus = try program.forward(zip(x, dx).map { $0 - ex * $1 }, weights: w).output
            checks.append(("input", (loss(plus, r) - loss(minus, r)) / (2 * Double(ex)), dot(gradients.input, dx)))
            for (name, values) in w.sorted(by: { $0.key < $1.key }) {
                let d = uniform(values.count)
                let e = 1e-2 * rms(values) / rms(d)
                var up = w, down = w
                up[name] = zip(values, d).map { $0 + e * $1 }
                down[name] = zip(values, d).map { $0 - e * $1 }
                let numeric = (loss(try program.forward(x, weights: up).output, r) - loss(try program.forward(x, weights: down).output, r)) / (2 * Double(e))
                checks.append((name, numeric, dot(try #require(gradients.weights[name]), d)))
            }
            for (name, numeric, analytic) in checks {
                #expect(abs(numeric - analytic) <= 2e-3 * max(abs(numeric), abs(analytic)), "\(segment.output) \(name): finite differences \(numeric), backward \(analytic)")
            }
        }
    }

    /// Rounded b1g64 matrices (no compensation), then two epochs of reconstruction on licence
    /// bytes: of the scales alone in half-blocks fitted locally, and of the codes too in whole
    /// blocks aimed at the float model's outputs. Each trained segment's error falls, and the
    /// model's next-byte KL to the float model on held-out text falls with it.
    @Test(arguments: [(nil, 1, BlockReconstruction.Target.same), (0.03, 2, .float)])
    func reconstructionBringsTheModelCloserToItsTeacher(levelRate: Double?, merging: Int, target: BlockReconstruction.Target) throws {
        let (graph, weights, layers) = try Self.rotatedDemo()
        let format = try WeightFormat(name: "b1g64")
        let constants = Self.constants(graph)
        var quantized: [String: QuantizedMatrix] = [:]
        for name in weights {
            let c = try #require(constants[name])
            quantized[name] = try RoundToNearestQuantizer().quantize(try c.floatValues(), n: c.shape[0], k: c.shape[1], format: format, statistics: nil)
        }
        let text = Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/common-licenses/GPL-3")))
        let sequences = (0..<8).map { i in text[(i * 4096)..<(i * 4096 + 96)].map { Int($0) } }
        let before = try Self.meanKL(graph, quantized, on: try Self.heldOut())

        var refined = quantized
        let reconstruction = BlockReconstruction(epochs: 2, learningRate: 0.05, merging: merging, target: target, levelRate: levelRate)
        let reports = try reconstruction.run(graph, sequences: sequences, quantized: &refined)
        #expect(reports.count == 2 * layers / merging && reports.allSatisfy { $0.skipped == nil && $0.before != nil })
        for report in reports where report.accepted { #expect(report.after! < report.before!, "\(report.output)") }
        #expect(reports.filter(\.accepted).count >= reports.count / 2, "\(reports.map { ($0.output, $0.before!, $0.after!) })")
        // Without latent weights only scales move: the codes are compensation's.
        for (name, m) in refined { #expect((levelRate != nil || m.codes == quantized[name]!.codes) && m.format == format) }
        let after = try Self.meanKL(graph, refined, on: try Self.heldOut())
        #expect(after < (levelRate == nil ? 0.9 : 0.7) * before, "held-out KL \(before) → \(after)")
    }

    /// Mean over positions of KL(float ‖ quantized) of the next-byte distributions.
    static func meanKL(_ graph: Graph, _ quantized: [String: QuantizedMatrix], on prompts: [[Int]]) throws -> Double {
        var replaced = graph
        for i in replaced.initializers.indices {
            let c = replaced.initializers[i]
            if let m = quantized[c.name] { replaced.initializers[i] = .float32(c.name, shape: c.shape, m.dequantized()) }
        }
        let source = try Session(graph: graph), converted = try Session(graph: replaced)
        var sum = 0.0, count = 0
        for prompt in prompts {
            source.resetState()
            converted.resetState()
            let inputs = try LanguageModelInputs.make(graph, tokens: prompt)
            let p = try #require(try source.run(inputs: inputs)[LanguageModelNames.logitsOutput]?.floats)
            let q = try #require(try converted.run(inputs: inputs)[LanguageModelNames.logitsOutput]?.floats)
            let vocabulary = p.count / prompt.count
            for t in 0..<prompt.count {
                let lp = logSoftmax(p[(t * vocabulary)..<((t + 1) * vocabulary)]), lq = logSoftmax(q[(t * vocabulary)..<((t + 1) * vocabulary)])
                sum += zip(lp, lq).reduce(0.0) { $0 + exp($1.0) * ($1.0 - $1.1) }
                count += 1
            }
        }
        return sum / Double(count)
    }

    static func logSoftmax(_ x: ArraySlice<Float>) -> [Double] {
        let top = Double(x.max() ?? 0)
        let total = log(x.reduce(0.0) { $0 + exp(Double($1) - top) }) + top
        return x.map { Double($0) - total }
    }
}
