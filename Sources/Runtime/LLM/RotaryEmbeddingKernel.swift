import Foundation
import Graph

/// xnorkit.RotaryEmbedding: rotates each head of x [T, heads·head_dim] by its token's position.
///
/// `inv_freq` holds the frequencies with any rope scaling (linear, llama3) already applied by
/// the model builder. Pairs are (i, i + d/2) in the Hugging Face layout (`interleaved` 0) or
/// (2i, 2i + 1) in ggml's normal layout (`interleaved` 1). The angle is the float32 product
/// position · inv_freq, as transformers forms it in float32 whatever the model's dtype.
struct RotaryEmbeddingKernel: PoolSplittingKernel {
    static let opType = "RotaryEmbedding"
    let headDim: Int
    let inverseFrequencies: [Float]
    let interleaved: Bool

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 2...2)
        let attributes = try setup.attributes(allowed: ["head_dim", "inv_freq", "interleaved"])
        guard let headDim = try attributes.int("head_dim"), headDim > 0, headDim % 2 == 0 else {
            throw OpError("head_dim must be a positive even number")
        }
        guard let frequencies = try attributes.finiteFloats("inv_freq"), frequencies.count * 2 == headDim else {
            throw OpError("inv_freq must hold head_dim/2 frequencies (partial rotary is not supported)")
        }
        if let index = frequencies.firstIndex(where: { $0 < 0 }) {
            throw OpError("attribute 'inv_freq' holds \(frequencies[index]) at index \(index), a frequency must not be negative")
        }
        self.headDim = headDim
        inverseFrequencies = frequencies
        interleaved = try attributes.flag("interleaved", default: false)
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type, positions = try inputs.required(1).type
        guard x.elementType == .float32, x.rank == 2, x.shape[1] % headDim == 0 else {
            throw OpError("X \(x) must be float32 [T, heads·\(headDim)]")
        }
        guard positions.elementType.isInteger, positions.shape == [x.shape[0]] else {
            throw OpError("positions \(positions) must be integers of shape [\(x.shape[0])]")
        }
        return [x]
    }

    /// With a context, the rows are split over its pool.
    func run(inputs: [Tensor?], outputs: inout [Tensor], splitting context: KernelContext?) throws {
        let x = try inputs.required(0)
        let positions = try inputs.required(1)
        let width = x.shape[1]
        let half = inverseFrequencies.count
        for t in 0..<positions.count {
            let position = try positions.integer(at: t)
            guard position >= 0 else { throw OpError("position \(position) at row \(t) is negative") }
        }
        try x.withUnsafeBuffer(of: Float.self) { input in
            try outputs[0].withUnsafeMutableBuffer(of: Float.self) { out in
                func rotate(_ rows: Range<Int>) {
                    for t in rows {
                        // Checked above; a position is an integer tensor's element.
                        let position = (try? positions.integer(at: t)) ?? 0
                        for i in 0..<half {
                            let angle = Float(position) * inverseFrequencies[i]
                            let c = Double(Float(cos(Double(angle)))), s = Double(Float(sin(Double(angle))))
                            for head in stride(from: t * width, to: (t + 1) * width, by: headDim) {
                                let (a, b) = interleaved ? (head + 2 * i, head + 2 * i + 1) : (head + i, head + i + half)
                                let x1 = Double(input[a]), x2 = Double(input[b])
                                out[a] = Float(x1 * c - x2 * s)
                                out[b] = Float(x2 * c + x1 * s)
                            }
                        }
                    }
                }
                guard let context else { return rotate(0..<positions.count) }
                context.forEachRange(positions.count, grain: max(1, ElementLoops.grain / max(width, 1)), rotate)
            }
        }
    }
}
