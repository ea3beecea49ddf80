import BitPacking
import XNORLoader
import Graph
import Runtime

/// Checks a converted model three ways (issue 3, `xnor verify`):
/// (a) each XNORPopcountGemm's popcount output against the simulated reference on the very
///     input it received: pass or fail;
/// (b) the converted model end to end against the source float model: fidelity metrics;
/// (c) the converted model end to end against the simulated reference model.
public struct Verifier {
    public let model: XNORModelFile.Loaded
    public let source: Graph
    /// The source model on the reference executor; callers plan inputs with it too, so the
    /// source weights are converted for running once.
    public let reference: Session
    /// The converted model on the popcount runtime.
    public let converted: Session
    let simulated: Session

    /// `threads` split the popcount and float products of each session (nil: the cores online).
    public init(model: XNORModelFile.Loaded, source: Graph, threads: Int? = nil) throws {
        self.model = model
        self.source = source
        let options = SessionOptions(threads: threads)
        reference = try Session(graph: source, registry: .standard, options: options)
        converted = try Session(graph: model.packed.graph, registry: .xnor(weights: model.packed.weights, arithmetic: .popcount), options: options)
        simulated = try Session(graph: model.packed.graph, registry: .xnor(weights: model.packed.weights, arithmetic: .simulatedReference), options: options)
    }

    public struct Report: Sendable {
        public var mode: String
        public var samples: Int
        public var opChecks: [OpCheck]
        public var againstSource: [OutputComparison]
        public var againstSimulated: [OutputComparison]
        /// Causal LMs: logits compared as distributions over the vocabulary, per position.
        public var languageModelAgainstSource: LanguageModelComparison?
        public var languageModelAgainstSimulated: LanguageModelComparison?
        /// The source given against the one recorded at conversion; set by the caller.
        public var source: SourceCheck?
        public var opsPassed: Bool { opChecks.allSatisfy(\.passed) }

        /// Why the report fails on NaN or infinite values, or nil when every compared output
        /// (ours, the source model's, the simulated reference's) is finite.
        public var nonFiniteFailure: String? {
            var parts: [String] = []
            let badOps = opChecks.filter { $0.nonFinite > 0 }
            if !badOps.isEmpty { parts.append("\(badOps.count) popcount op(s), first '\(badOps[0].node)'") }
            for c in againstSource {
                if c.nonFiniteOurs > 0 { parts.append("\(c.nonFiniteOurs) in the converted model's '\(c.output)'") }
                if c.nonFiniteReference > 0 { parts.append("\(c.nonFiniteReference) in the source model's '\(c.output)'") }
            }
            for c in againstSimulated where c.nonFiniteReference > 0 {
                parts.append("\(c.nonFiniteReference) in the simulated reference's '\(c.output)'")
            }
            return parts.isEmpty ? nil : "NaN or infinite values: " + parts.joined(separator: ", ")
        }
    }

    /// `progress(done, total)` after each sample.
    /// `tokens`, for a causal LM, gives each sample's token ids, so its logits are also
    /// compared as next-token distributions. Each sample is a sequence of its own: stateful
    /// ops (the KV caches) start empty for every sample.
    public func run(samples: [[String: Tensor]], tokens: [[Int]]? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> Report {
        try run(count: samples.count, sample: { samples[$0] }, tokens: tokens, progress: progress)
    }

    /// As `run(samples:)`, with each sample made when its turn comes, so that only one is
    /// held at a time.
    public func run(count: Int, sample: (Int) throws -> [String: Tensor], tokens: [[Int]]? = nil,
                    progress: ((Int, Int) -> Void)? = nil) throws -> Report {
        let graph = model.packed.graph

        var constants: [String: ConstantTensor] = [:]
        for tensor in graph.initializers { constants[tensor.name] = tensor }
        let opset = graph.opsets[XNORPopcountGemmNode.domain] ?? 1
        var checkers: [Int: XNORPopcountGemmKernel] = [:]
        var checks: [Int: OpCheck] = [:]
        for (index, node) in graph.nodes.enumerated() where XNORPopcountGemmNode.isXNOR(node) {
            checkers[index] = try XNORPopcountGemmKernel(setup: KernelSetup(node: node, opset: opset, constants: constants),
                                                         weights: model.packed.weights, arithmetic: .simulatedReference)
            let weights = XNORPopcountGemmNode.weight(of: node).flatMap { model.packed.weights[$0] }
            checks[index] = OpCheck(node: node.displayName, mode: model.mode.rawValue, n: weights?.n ?? 0, k: weights?.k ?? 0,
                                    maxRelativeError: 0, outputMagnitude: 0, passed: true)
        }

        var versusSource: [String: OutputComparison.Accumulator] = [:]
        var versusSimulated: [String: OutputComparison.Accumulator] = [:]
        var languageSource = LanguageModelComparison.Accumulator()
        var languageSimulated = LanguageModelComparison.Accumulator()
        for sampleIndex in 0..<count {
            let inputs = try sample(sampleIndex)
            for session in [converted, simulated, reference] { session.resetState() }
            let ours = try converted.run(inputs: inputs, keeping: [], observer: { event in
                guard let checker = checkers[event.index], let x = event.inputs.first ?? nil else { return }
                var expected = [Tensor.zeros(event.outputs[0].type)]
                try checker.run(inputs: [x], outputs: &expected)
                let got = event.outputs[0].floatValues(), want = expected[0].floatValues()
                var magnitude = 0.0, nonFinite = 0
                for i in 0..<want.count {
                    if !got[i].isFinite || !want[i].isFinite { nonFinite += 1 }
                    magnitude = max(magnitude, Double(abs(want[i])))
                }
                guard var check = checks[event.index] else { return }
                let relative = SimulatedReference.relativeError(got, want)
                check.maxRelativeError = max(check.maxRelativeError, relative)
                check.outputMagnitude = max(check.outputMagnitude, magnitude)
                check.nonFinite += nonFinite
                check.passed = check.maxRelativeError <= OpCheck.tolerance && check.nonFinite == 0
                checks[event.index] = check
            })
            let simulatedOutputs = try simulated.run(inputs: inputs)
            let referenceOutputs = try reference.run(inputs: inputs)
            for output in graph.outputs {
                guard let mine = ours[output.name] else { continue }
                if let theirs = referenceOutputs[output.name] { try versusSource[output.name, default: .init()].add(mine, theirs) }
                if let theirs = simulatedOutputs[output.name] { try versusSimulated[output.name, default: .init()].add(mine, theirs) }
            }
            if let sequence = tokens?[sampleIndex], let name = graph.outputs.first?.name, let mine = ours[name] {
                if let theirs = referenceOutputs[name] { try languageSource.add(ours: mine, reference: theirs, tokens: sequence, sequence: sampleIndex) }
                if let theirs = simulatedOutputs[name] { try languageSimulated.add(ours: mine, reference: theirs, tokens: sequence, sequence: sampleIndex) }
            }
            progress?(sampleIndex + 1, count)
        }
        let names = graph.outputs.map(\.name)
        return Report(mode: model.mode.rawValue, samples: count,
                      opChecks: checks.keys.sorted().compactMap { checks[$0] },
                      againstSource: names.compactMap { versusSource[$0]?.result($0) },
                      againstSimulated: names.compactMap { versusSimulated[$0]?.result($0) },
                      languageModelAgainstSource: tokens == nil ? nil : languageSource.result(),
                      languageModelAgainstSimulated: tokens == nil ? nil : languageSimulated.result())
    }
}
