import BitPacking
import Graph

/// xnorkit.BitLinear (`BitLinearNode`): each activation row quantized to int8 by absmax, then
/// multiplied by the constant weight, read in place one row at a time in its storage type (a
/// packed BitNet checkpoint's 2-bit codes are never widened to a float32 matrix).
struct BitLinearKernel: OpKernel {
    let weightRows: WeightRows

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 2...2)
        _ = try setup.attributes(allowed: [])
        guard let constant = setup.constant(input: 1) else { throw OpError("the weight (input 1) must be a constant") }
        weightRows = try WeightRows(constant)
    }

    func readsInput(at index: Int) -> Bool { index == 0 }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type
        guard x.elementType == .float32, let last = x.shape.last, last == weightRows.columns else {
            throw OpError("X \(x) must be float32 with a last axis of K = \(weightRows.columns)")
        }
        return [TensorType(.float32, Array(x.shape.dropLast()) + [weightRows.rows])]
    }

    /// The quantized activations of a call and one decoded weight row, kept in the session so a
    /// decode step allocates nothing.
    final class Buffers {
        var codes: [Float] = []
        var scales: [Float] = []
        var finite: [Bool] = []
        var row: [Float] = []
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        try run(inputs: inputs, outputs: &outputs, buffers: Buffers())
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor], context: KernelContext) throws {
        try run(inputs: inputs, outputs: &outputs, buffers: context.slot { Buffers() })
    }

    private func run(inputs: [Tensor?], outputs: inout [Tensor], buffers: Buffers) throws {
        let x = try inputs.required(0)
        let k = weightRows.columns, n = weightRows.rows
        let m = k == 0 ? 0 : x.count / k
        if buffers.codes.count < m * k { buffers.codes = [Float](repeating: 0, count: m * k) }
        if buffers.scales.count < m { buffers.scales = [Float](repeating: 0, count: m); buffers.finite = [Bool](repeating: false, count: m) }
        if buffers.row.count < k { buffers.row = [Float](repeating: 0, count: k) }
        try x.withUnsafeBuffer(of: Float.self) { input in
            guard input.count == m * k else { throw OpError("internal error: BitLinear input does not match its shape") }
            // DESIGN.md's a8, decided in float32 by the same code as the converted op.
            for r in 0..<m {
                let values = UnsafeBufferPointer(rebasing: input[(r * k)..<(r * k + k)])
                buffers.finite[r] = values.allSatisfy(\.isFinite)
                guard buffers.finite[r] else { continue }
                let s = Numerics.a8Scale(maxAbs: values.reduce(0) { max($0, $1.magnitude) })
                buffers.scales[r] = s
                for (i, v) in values.enumerated() { buffers.codes[r * k + i] = Float(Numerics.a8Code(v, scale: s)) }
            }
        }
        try weightRows.withReader { reader in
            try outputs[0].withUnsafeMutableBuffer(of: Float.self) { out in
                guard out.count == m * n else { throw OpError("internal error: BitLinear output does not match its shape") }
                try buffers.row.withUnsafeMutableBufferPointer { row in
                    try buffers.codes.withUnsafeBufferPointer { codes in
                        for j in 0..<n {
                            try reader.decode(row: j, into: row)
                            for r in 0..<m {
                                guard buffers.finite[r] else { out[r * n + j] = .nan; continue }
                                var sum = 0.0
                                let base = r * k
                                for p in 0..<k { sum += Double(codes[base + p]) * Double(row[p]) }
                                out[r * n + j] = Float(sum / Double(buffers.scales[r]))
                            }
                        }
                    }
                }
            }
        }
    }
}
