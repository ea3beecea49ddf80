import BitPacking
import Foundation
import Generation
import Graph
import Runtime
import Tensors

/// Block-wise reconstruction (OmniQuant, EfficientQAT's Block-AP): after error compensation,
/// each segment of the model (`ReconstructionSegment`: a half-block, or a block) is refined
/// against the float model's segment as its teacher. The codes stay as compensation chose
/// them; the scales (and offsets) of the segment's matrices are trained by Adam on the mean
/// squared difference of the segment's outputs, with gradients from `SegmentProgram`'s
/// backward pass. Segments go in order, each fed by the refined segments before it.
public struct BlockReconstruction: Sendable {
    /// What the student's output is compared with.
    public enum Target: String, Sendable, CaseIterable {
        /// The float segment on the same inputs as the student: each segment is fitted locally.
        case same
        /// The float segment on the float model's own inputs (OmniQuant's target): the student
        /// also corrects the error the segments before it left.
        case float
    }

    /// How a token's error counts.
    public enum Loss: String, Sendable, CaseIterable {
        /// The squared difference, summed over every value: tokens with large outputs (a
        /// residual stream's attention sinks) weigh most.
        case squared
        /// Each token's squared difference over its teacher's squared norm: every token alike.
        case relative
    }

    public var epochs: Int
    /// Adam's step for each matrix, relative to the root mean square of its scales.
    public var learningRate: Double
    /// Half-blocks per segment: 1 (attention, MLP) or 2 (whole blocks).
    public var merging: Int
    public var target: Target
    /// Adam's step for latent weights, relative to the root mean square of each matrix's scales
    /// of its last (finest) plane, so that codes move alike whatever the planes; nil trains the
    /// scales alone, with the codes fixed.
    public var levelRate: Double?
    public var loss: Loss = .squared

    /// The defaults are the best measured on the demo Llama at b1g64 (64 × 256 calibration
    /// bytes, 4 epochs; `verify`'s PPL ratio on its held-out prompts, 1.642 compensated alone):
    /// scales alone 1.298 (step 0.05; 1.391 at 0.002), codes too 1.151 (latent step 0.03; 1.191
    /// at 0.01, 1.170 at 0.1), with the float model's inputs as the target 1.118, in whole
    /// blocks 1.113, both 1.095.
    public init(epochs: Int = 4, learningRate: Double = 0.05, merging: Int = 2, target: Target = .float, levelRate: Double? = 0.03) {
        self.epochs = epochs
        self.learningRate = learningRate
        self.merging = merging
        self.target = target
        self.levelRate = levelRate
    }

    /// The most memory one segment's attention probabilities may take (1 GiB: SmolLM2's 9
    /// heads at 512 tokens take 9 MiB, at 8192 tokens 2.3 GiB).
    public static let maximumProbabilityBytes = 1 << 30

    public struct SegmentReport: Sendable {
        /// The value the segment writes.
        public var output: String
        public var weights: [String]
        /// Mean squared difference from the teacher on the held-out calibration sequences (the
        /// last eighth; all of them below 4), as compensated and after training (rounded to the
        /// stored type); nil where the segment was not trained.
        public var before: Double?
        public var after: Double?
        /// The refined values were kept (they lowered the held-out difference).
        public var accepted: Bool
        /// Why the segment and every one after it were left as compensated.
        public var skipped: String?
    }

    /// Refines `quantized` in place. `graph`: the float model as calibrated (rotated where the
    /// conversion rotates); `fixed`: weights held at other values (the budget's Q8_0 ones).
    /// `progress(done, total)` after each segment.
    public func run(_ graph: Graph, registry: OpRegistry = .standard, sequences: [[Int]], quantized: inout [String: QuantizedMatrix],
                    fixed: [String: [Float]] = [:], progress: ((Int, Int) -> Void)? = nil) throws -> [SegmentReport] {
        let products = Set(quantized.keys).union(fixed.keys)
        let (prefix, segments) = ReconstructionSegment.find(graph, products: products, merging: max(1, merging))
        guard let first = segments.first, !sequences.isEmpty else { return [] }
        let constants = Dictionary(graph.initializers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })

        // The last eighth of the sequences (one at least, from 4) is held out of training: a
        // block keeps its refined values only if they lower the error there.
        let heldOut = sequences.count >= 4 ? max(1, sequences.count / 8) : 0
        let training = 0..<(sequences.count - heldOut)
        let validation = heldOut > 0 ? training.upperBound..<sequences.count : training
        var student = try prefixValues(graph, prefix: prefix, output: first.input, registry: registry, sequences: sequences)
        var teacherInputs = student
        var reports: [SegmentReport] = []
        var stopped: String? = nil
        for (index, segment) in segments.enumerated() {
            defer { progress?(index + 1, segments.count) }
            if let stopped {
                reports.append(SegmentReport(output: segment.output, weights: segment.weights, accepted: false, skipped: stopped))
                continue
            }
            let program: SegmentProgram
            do {
                program = try SegmentProgram(nodes: Array(graph.nodes[segment.nodes]), input: segment.input,
                                             inputWidth: student[0].count / max(sequences[0].count, 1), constants: constants,
                                             positions: LanguageModelNames.positionsInput)
            } catch let error as SegmentProgram.ProgramError {
                stopped = "\(segment.output): \(error.description)"
                reports.append(SegmentReport(output: segment.output, weights: segment.weights, accepted: false, skipped: stopped))
                continue
            }
            let longest = sequences.map(\.count).max() ?? 0
            guard let bytes = program.probabilityBytes(tokens: longest), bytes <= Self.maximumProbabilityBytes else {
                throw CalibrationError("block reconstruction keeps every head's attention probabilities for the backward pass: sequences of \(longest) tokens need more than \(Self.maximumProbabilityBytes >> 30) GiB in '\(segment.output)'; use a shorter --calib-ctx")
            }
            var floatWeights: [String: [Float]] = [:]
            for name in program.weights.keys {
                guard let c = constants[name] else { throw CalibrationError("block reconstruction: no constant '\(name)'") }
                floatWeights[name] = try c.floatValues()
            }
            var trainables: [String: TrainableMatrix] = [:]
            for name in segment.weights { if let m = quantized[name], let t = TrainableMatrix(m) { trainables[name] = t } }
            var studentWeights = floatWeights
            for (name, values) in fixed where studentWeights[name] != nil { studentWeights[name] = values }
            for (name, m) in quantized where studentWeights[name] != nil && trainables[name] == nil { studentWeights[name] = m.dequantized() }

            let teachers = try teacherInputs.map { try program.forward($0, weights: floatWeights).output }
            var report = SegmentReport(output: segment.output, weights: segment.weights, accepted: false)
            if !trainables.isEmpty {
                var theta = trainables.mapValues(\.initial)
                for (name, t) in trainables { studentWeights[name] = t.original.dequantized() }
                let before = try meanSquaredDifference(program, student[validation], teachers[validation], studentWeights)
                try train(program, trainables: &trainables, theta: &theta, inputs: Array(student[training]), teachers: Array(teachers[training]),
                          weights: studentWeights)
                var refined = studentWeights
                var matrices: [String: QuantizedMatrix] = [:]
                for (name, t) in trainables {
                    let m = t.matrix(theta[name]!)
                    matrices[name] = m
                    refined[name] = m.dequantized()
                }
                let after = try meanSquaredDifference(program, student[validation], teachers[validation], refined)
                report.before = before
                report.after = after
                if after < before {
                    report.accepted = true
                    studentWeights = refined
                    for (name, m) in matrices { quantized[name] = m }
                }
            }
            reports.append(report)
            student = try student.map { try program.forward($0, weights: studentWeights).output }
            teacherInputs = target == .float ? teachers : student
        }
        return reports
    }

    /// Adam on each matrix's θ (and latent weights), one sequence per step, with a cosine
    /// decay over all steps.
    private func train(_ program: SegmentProgram, trainables: inout [String: TrainableMatrix], theta: inout [String: [Float]],
                       inputs: [[Float]], teachers: [[Float]], weights: [String: [Float]]) throws {
        let names = Set(trainables.keys)
        var weights = weights
        func rms(_ values: [Float]) -> Double {
            (values.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(values.count, 1))).squareRoot()
        }
        var scales = trainables.mapValues { t in Adam(count: t.initial.count, rate: learningRate * max(rms(t.original.scales), 1e-12)) }
        var latent: [String: [Float]] = [:]
        var latentSteps: [String: Adam] = [:]
        if let levelRate {
            for (name, t) in trainables {
                let values = t.original.dequantized()
                latent[name] = values
                latentSteps[name] = Adam(count: values.count, rate: levelRate * max(rms(t.finestScales), 1e-12))
            }
        }
        let steps = max(1, epochs) * inputs.count
        for step in 0..<steps {
            let q = (step % inputs.count + step / inputs.count) % inputs.count
            for name in names { weights[name] = trainables[name]!.weights(theta[name]!, latent: latent[name]) }
            let tape = try program.forward(inputs[q], weights: weights)
            let y = tape.output, target = teachers[q]
            let tokens = tokenWeights(target, width: program.outputWidth)
            let scale = 2 / Float(max(y.count, 1))
            var dy = [Float](repeating: 0, count: y.count)
            for i in y.indices { dy[i] = (y[i] - target[i]) * scale * tokens[i / program.outputWidth] }
            let grads = try program.backward(tape, outputGradient: dy, weights: weights, trainable: names).weights
            let decay = 0.5 * (1 + cos(Double.pi * Double(step) / Double(steps)))
            for name in names {
                guard let dw = grads[name] else { continue }
                scales[name]!.step(&theta[name]!, gradient: trainables[name]!.gradient(dw), decay: decay)
                if latent[name] != nil { latentSteps[name]!.step(&latent[name]!, gradient: dw, decay: decay) }
            }
        }
        // The levels nearest the final latent values.
        for name in names { _ = trainables[name]!.weights(theta[name]!, latent: latent[name]) }
    }

    /// Adam (β = 0.9, 0.999) on one parameter vector.
    struct Adam {
        var first: [Double]
        var second: [Double]
        var rate: Double
        var steps = 0

        init(count: Int, rate: Double) {
            first = [Double](repeating: 0, count: count)
            second = first
            self.rate = rate
        }

        mutating func step(_ values: inout [Float], gradient: [Float], decay: Double) {
            steps += 1
            let c1 = 1 - pow(0.9, Double(steps)), c2 = 1 - pow(0.999, Double(steps))
            let r = rate * decay
            for i in values.indices {
                let g = Double(gradient[i])
                first[i] = 0.9 * first[i] + 0.1 * g
                second[i] = 0.999 * second[i] + 0.001 * g * g
                values[i] = Float(Double(values[i]) - r * (first[i] / c1) / ((second[i] / c2).squareRoot() + 1e-30))
            }
        }
    }

    private func meanSquaredDifference(_ program: SegmentProgram, _ inputs: ArraySlice<[Float]>, _ teachers: ArraySlice<[Float]>,
                                       _ weights: [String: [Float]]) throws -> Double {
        var sum = 0.0, count = 0
        for (x, t) in zip(inputs, teachers) {
            let y = try program.forward(x, weights: weights).output
            let tokens = tokenWeights(t, width: program.outputWidth)
            for i in y.indices { let d = Double(y[i] - t[i]); sum += d * d * Double(tokens[i / program.outputWidth]) }
            count += y.count
        }
        return sum / Double(max(count, 1))
    }

    /// Each token's weight in the loss: 1, or (relative) the inverse of its teacher's mean square.
    private func tokenWeights(_ teacher: [Float], width: Int) -> [Float] {
        let tokens = teacher.count / max(width, 1)
        guard loss == .relative else { return [Float](repeating: 1, count: tokens) }
        return (0..<tokens).map { r in
            var s = 0.0
            for j in 0..<width { let v = Double(teacher[r * width + j]); s += v * v }
            return Float(1 / max(s / Double(width), 1e-30))
        }
    }

    /// The first segment's input for each sequence, from the float model's nodes before it.
    private func prefixValues(_ graph: Graph, prefix: Range<Int>, output: String, registry: OpRegistry, sequences: [[Int]]) throws -> [[Float]] {
        var part = graph
        part.nodes = Array(graph.nodes[prefix])
        let read = Set(part.nodes.flatMap(\.inputs))
        part.inputs = graph.inputs.filter { read.contains($0.name) }
        part.initializers = graph.initializers.filter { read.contains($0.name) }
        part.outputs = [ValueInfo(name: output)]
        let produced = Set(part.nodes.flatMap(\.outputs))
        part.valueInfo = graph.valueInfo.filter { produced.contains($0.name) }
        let session = try CalibrationSession.make(part, registry: registry, sequences: sequences)
        let declared = Set(part.inputs.map(\.name))
        return try sequences.map { sequence in
            session.resetState()
            let inputs = try LanguageModelInputs.make(graph, tokens: sequence).filter { declared.contains($0.key) }
            guard let x = try session.run(inputs: inputs)[output]?.floats, x.count % max(sequence.count, 1) == 0 else {
                throw CalibrationError("block reconstruction: the nodes before the first segment gave no float32 '\(output)'")
            }
            return x
        }
    }
}
