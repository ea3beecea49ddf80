import Graph
import Tensors

/// xnorkit.Hadamard: each group of `size` elements of the last axis becomes H · x / √size
/// (formats/llm-graph.md), by the fast transform of `HadamardTransform`: O(size · log size)
/// plus a small dense factor, in float64, rounded to float32 once.
///
/// It makes a projection's input incoherent (no few huge channels) so that 1-bit weights of
/// that projection lose less; the conversion folds Hᵀ into the weight, so the function is kept.
struct HadamardKernel: OpKernel {
    static let opType = "Hadamard"
    let transform: HadamardTransform

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 1...1)
        let attributes = try setup.attributes(allowed: ["size"])
        guard let size = try attributes.int("size") else { throw OpError("attribute 'size' is required") }
        guard let transform = HadamardTransform(size: size) else {
            throw OpError("attribute 'size' is \(size): no Hadamard matrix of that order is built (2^k · m, m = 1 or a Paley order ≤ \(HadamardTransform.maximumBaseOrder), at most \(HadamardTransform.maximumSize))")
        }
        self.transform = transform
    }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type
        guard x.elementType == .float32, let last = x.shape.last, last % transform.size == 0 else {
            throw OpError("X \(x) must be float32 with a last axis that is a multiple of \(transform.size)")
        }
        return [x]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        try run(inputs: inputs, outputs: &outputs, work: Work(transform))
    }

    /// The session's work buffers for this node: a decode step allocates nothing.
    func run(inputs: [Tensor?], outputs: inout [Tensor], context: KernelContext) throws {
        try run(inputs: inputs, outputs: &outputs, work: context.slot { Work(transform) })
    }

    final class Work {
        var values: [Double]
        var scratch: [Double]

        init(_ transform: HadamardTransform) {
            values = [Double](repeating: 0, count: transform.size)
            scratch = [Double](repeating: 0, count: transform.size)
        }
    }

    private func run(inputs: [Tensor?], outputs: inout [Tensor], work: Work) throws {
        let x = try inputs.required(0)
        let n = transform.size
        guard x.count > 0 else { return }
        try x.withUnsafeBuffer(of: Float.self) { input in
            try outputs[0].withUnsafeMutableBuffer(of: Float.self) { out in
                work.values.withUnsafeMutableBufferPointer { v in
                    work.scratch.withUnsafeMutableBufferPointer { s in
                        for start in stride(from: 0, to: input.count, by: n) {
                            for i in 0..<n { v[i] = Double(input[start + i]) }
                            transform.apply(v, scratch: s)
                            for i in 0..<n { out[start + i] = Float(v[i]) }
                        }
                    }
                }
            }
        }
    }
}
