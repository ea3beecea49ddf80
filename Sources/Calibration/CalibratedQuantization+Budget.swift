import BitPacking
import Graph
import Tensors

/// `--bits` and `--max-kl`: every converted matrix in each of several encodings, one chosen
/// per matrix by `BitBudget`.
extension CalibratedQuantization {
    /// A matrix `--bits` keeps at high precision: ggml's Q8_0 (blocks of 32 int8 with a float16
    /// scale, 8.5 bits per weight), read by the float product it was before the rewrite.
    public struct Kept: Sendable {
        public var weight: String
        public var n: Int
        public var k: Int
        /// The Q8_0 rounding's calibration error (relative output error).
        public var error: QuantizationError
        public var sensitivity: Double?
        public static let bitsPerWeight = Double(Q8_0Encoder.bytesPerBlock * 8) / Double(Q8_0Encoder.blockSize)
        public static let label = "q8_0"
    }

    /// `--bits B`: each matrix quantized in every one of `candidates` (GPTQ, on its statistics),
    /// and with `keepCandidate` also kept at Q8_0 where K is a multiple of 32; then `BitBudget`
    /// picks one encoding per matrix so the bits per converted weight (scales included) are at
    /// most B with the least summed loss.
    ///
    /// A candidate's loss is the absolute squared error it adds to the matrix's outputs per
    /// calibration row, tr(ΔW·H·ΔWᵀ) / rows. With `sensitivity`, each matrix's errors are
    /// weighed by what they cost the model: the KL divergence measured with that matrix alone
    /// in its `probe` candidate (the middle one by bits), per unit of that candidate's output
    /// error. KL grows with the square of a small change of the outputs, as the output error
    /// does, so the weighed error estimates each candidate's KL (HAWQ's Fisher-weighted error).
    ///
    /// `Goal.maximumKL(K)` (`--max-kl`) takes the fewest bits whose estimated KL, the sum of the
    /// chosen candidates' weighed errors, is at most K; it needs `sensitivity`.
    public enum Goal: Sendable {
        case bitsPerWeight(Double)
        case maximumKL(Double)
    }

    public static func run(_ graph: Graph, statistics: [String: InputStatistics], goal: Goal,
                           candidates: [WeightFormat], keepCandidate: Bool = false, quantizer: GPTQQuantizer = GPTQQuantizer(),
                           sensitivity: MatrixSensitivity? = nil,
                           progress: ((Int, Int) -> Void)? = nil) throws -> Result {
        if case .maximumKL = goal, sensitivity?.measure != .nextTokenKL {
            throw CalibrationError("--max-kl needs a language model's next-token distributions to measure KL")
        }
        guard !candidates.isEmpty else { throw CalibrationError("--bits needs at least one candidate format") }
        let targets = try weights(of: graph, statistics: statistics)
        var options: [[(QuantizedMatrix, CompensatedQuantization)]] = []
        var keptOptions: [Kept?] = []
        var divergences: [Double?] = []
        var budgetMatrices: [BitBudget.Matrix] = []
        for (index, target) in targets.enumerated() {
            defer { progress?(index + 1, targets.count) }
            let values = try target.constant.floatValues()
            let rows = Double(max(target.statistics.rows, 1))
            func absolute(_ error: QuantizationError) -> Double { (error.output ?? 0) * (error.outputEnergy ?? 0) / rows }
            var results: [(QuantizedMatrix, CompensatedQuantization)] = []
            var outputErrors: [Double] = []
            for format in candidates {
                let result = try quantizer.quantizeReporting(values, n: target.n, k: target.k, format: format, statistics: target.statistics)
                results.append((result.matrix, result))
                outputErrors.append(absolute(result.compensated))
            }
            var kept: Kept? = nil
            if keepCandidate, target.k % Q8_0Encoder.blockSize == 0 {
                let stored = ConstantTensor(name: target.name, blockType: .q8_0, shape: [target.n, target.k],
                                            storage: .owned(try Q8_0Encoder.encode(values)))
                let error = QuantizationError.measure(values, approximations: [try stored.floatValues().map(Double.init)],
                                                      n: target.n, k: target.k, statistics: target.statistics)[0]
                kept = Kept(weight: target.name, n: target.n, k: target.k, error: error)
            }
            var weight = 1.0
            var divergence: Double? = nil
            if let sensitivity {
                let probe = probeIndex(candidates, n: target.n, k: target.k)
                let measured = try sensitivity.divergence(replacing: target.name, with: results[probe].0.dequantized())
                weight = outputErrors[probe] > 0 ? measured / outputErrors[probe] : 0
                kept?.sensitivity = measured
                divergence = measured
            }
            divergences.append(divergence)
            func candidate(_ label: String, bitsPerWeight: Double, error: Double) -> BitBudget.Candidate {
                let loss = weight * error
                return BitBudget.Candidate(label: label, bits: Int((bitsPerWeight * Double(target.n * target.k)).rounded(.up)),
                                           loss: loss.isFinite ? loss : .greatestFiniteMagnitude)
            }
            var budgetCandidates = zip(candidates, outputErrors).map { format, error in
                candidate(format.name, bitsPerWeight: format.bitsPerWeight(n: target.n, k: target.k), error: error)
            }
            if let kept { budgetCandidates.append(candidate(Kept.label, bitsPerWeight: Kept.bitsPerWeight, error: absolute(kept.error))) }
            options.append(results)
            keptOptions.append(kept)
            budgetMatrices.append(BitBudget.Matrix(name: target.name, weights: target.n * target.k, candidates: budgetCandidates))
        }
        let choice: BitBudget.Choice
        switch goal {
        case .bitsPerWeight(let budget):
            do {
                choice = try BitBudget(matrices: budgetMatrices).choose(bitsPerWeight: budget)
            } catch let error as BitBudget.Infeasible {
                throw CalibrationError("--bits: \(error)")
            }
        case .maximumKL(let limit):
            choice = try BitBudget(matrices: budgetMatrices).fewestBits(maximumLoss: limit, what: "KL")
        }
        var quantized: [String: QuantizedMatrix] = [:]
        var matrices: [Matrix] = []
        var kept: [Kept] = []
        var chosen: [String: WeightFormat] = [:]
        for (m, target) in targets.enumerated() {
            guard choice.indices[m] < candidates.count else {
                if let keptMatrix = keptOptions[m] { kept.append(keptMatrix) }
                continue
            }
            let (matrix, report) = options[m][choice.indices[m]]
            quantized[target.name] = matrix
            chosen[target.name] = matrix.format
            matrices.append(Matrix(weight: target.name, format: matrix.format, n: target.n, k: target.k,
                                   roundToNearest: report.roundToNearest, compensated: report.compensated,
                                   sensitivity: divergences[m]))
        }
        return Result(quantized: quantized, matrices: matrices, graph: withFormats(graph, chosen), kept: kept,
                      estimatedKL: sensitivity?.measure == .nextTokenKL ? choice.loss : nil)
    }

    /// The candidate whose KL is measured: the middle one by bits per weight, where the
    /// budget's choices lie; its error is small enough for KL to grow as its square.
    static func probeIndex(_ candidates: [WeightFormat], n: Int, k: Int) -> Int {
        let byBits = candidates.indices.sorted { candidates[$0].bitsPerWeight(n: n, k: k) < candidates[$1].bitsPerWeight(n: n, k: k) }
        return byBits[byBits.count / 2]
    }

    /// The least bits per weight that matrices of these shapes can take among `candidates`
    /// (each matrix in its smallest): a `--bits` below it cannot be met. 0 for no matrices.
    public static func smallestBitsPerWeight(_ shapes: [(n: Int, k: Int)], candidates: [WeightFormat]) -> Double {
        var bits = 0.0, weights = 0.0
        for shape in shapes {
            let count = Double(shape.n) * Double(shape.k)
            bits += (candidates.map { $0.bitsPerWeight(n: shape.n, k: shape.k) }.min() ?? 0) * count
            weights += count
        }
        return weights > 0 ? bits / weights : 0
    }
}
