import Graph

/// xnorkit.RMSNorm: y = x / sqrt(mean(x²) + epsilon) · weight over each group of `weight.count`
/// consecutive elements of the last axis (the whole hidden vector, or one attention head for
/// Qwen3's q_norm/k_norm). Sums in float64, as transformers computes the norm in float32 or wider.
///
/// `weight_offset` is added to every weight (in float64): Gemma's norms scale by (1 + weight),
/// which a Hugging Face checkpoint stores without the 1 and llama.cpp's GGUF with it.
struct RMSNormKernel: PoolSplittingKernel {
    static let opType = "RMSNorm"
    let epsilon: Double
    let weight: [Double]

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 2...2)
        let attributes = try setup.attributes(allowed: ["epsilon", "weight_offset"])
        let epsilon = try attributes.finiteFloat("epsilon", default: 1e-6)
        // A negative epsilon makes the root of a small mean square NaN.
        guard epsilon >= 0 else { throw OpError("attribute 'epsilon' is \(epsilon), must not be negative") }
        self.epsilon = Double(epsilon)
        guard let constant = setup.constant(input: 1), constant.shape.count == 1, constant.elementCount > 0 else {
            throw OpError("the weight (input 1) must be a non-empty 1-D constant")
        }
        let offset = Double(try attributes.finiteFloat("weight_offset", default: 0))
        weight = try constant.floatValues().map { Double($0) + offset }
    }

    func readsInput(at index: Int) -> Bool { index == 0 }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type
        guard x.elementType == .float32, let last = x.shape.last, last % weight.count == 0 else {
            throw OpError("X \(x) must be float32 with a last axis that is a multiple of \(weight.count)")
        }
        return [x]
    }

    /// With a context, the groups are split over its pool.
    func run(inputs: [Tensor?], outputs: inout [Tensor], splitting context: KernelContext?) throws {
        let x = try inputs.required(0)
        let group = weight.count
        try x.withUnsafeBuffer(of: Float.self) { input in
            try outputs[0].withUnsafeMutableBuffer(of: Float.self) { out in
                weight.withUnsafeBufferPointer { w in
                    func normalize(_ groups: Range<Int>) {
                        for start in stride(from: groups.lowerBound * group, to: groups.upperBound * group, by: group) {
                            var sum = 0.0
                            for i in 0..<group { let v = Double(input[start + i]); sum += v * v }
                            let inverse = 1 / (sum / Double(group) + epsilon).squareRoot()
                            for i in 0..<group { out[start + i] = Float(Double(input[start + i]) * inverse * w[i]) }
                        }
                    }
                    let groups = input.count / group
                    guard let context else { return normalize(0..<groups) }
                    context.forEachRange(groups, grain: max(1, ElementLoops.grain / group), normalize)
                }
            }
        }
    }
}
