import BitPacking
import Graph
import XNORLoader
import Tensors

/// Packs the weight of every XNORPopcountGemm node into bit-planes and scales.
///
/// Weights are read one at a time, moved to [N, K] rows, packed and released, so peak
/// memory is the packed model plus one float weight, not the float model twice.
public enum WeightPackingPass {
    public struct Failure: Error, CustomStringConvertible {
        public var node: String
        public var message: String
        public var description: String { "node '\(node)': \(message)" }
    }

    /// `progress(done, total)` is called after each packed weight.
    ///
    /// Each node's weight format comes from its `mode` and `weight_format` attributes. A
    /// weight named in `quantized` is packed from those codes and scales (chosen by a
    /// calibrated quantizer; its N, K and format must match the node's); any other weight in
    /// a grouped format is quantized by round to nearest (`QuantizedMatrix.roundToNearest`),
    /// and a legacy one by DESIGN.md's weight modes, as before.
    /// `dispatch`: the pool whose threads split each weight's rows.
    public static func run(_ graph: Graph, quantized: [String: QuantizedMatrix] = [:], dispatch: KernelDispatch = KernelDispatch(),
                           progress: ((Int, Int) -> Void)? = nil) throws -> PackedGraph {
        var constants: [String: ConstantTensor] = [:]
        for tensor in graph.initializers { constants[tensor.name] = tensor }
        let xnorNodes = graph.nodes.filter(XNORPopcountGemmNode.isXNOR)
        var packed: [String: PackedWeights] = [:]
        var packedFormat: [String: WeightFormat] = [:]
        for (index, node) in xnorNodes.enumerated() {
            let fail = { (message: String) in Failure(node: node.displayName, message: message) }
            guard let weightName = XNORPopcountGemmNode.weight(of: node) else { throw fail("has no weight attribute") }
            guard case .string(let modeName) = node.attribute(XNORPopcountGemmNode.Attribute.mode) else {
                throw fail("has no valid mode attribute")
            }
            let format: WeightFormat
            do {
                format = try WeightFormat.ofNode(mode: modeName, weightFormat: XNORPopcountGemmNode.weightFormat(of: node)).format
            } catch let error as BitPackingError {
                throw fail(error.message)
            }
            if let existing = packedFormat[weightName] {
                guard existing == format else {
                    throw fail("weight '\(weightName)' is used with two weight formats (\(existing.name), \(format.name))")
                }
                continue
            }
            guard let weight = constants[weightName], weight.shape.count == 2 else {
                throw fail("weight '\(weightName)' is not a 2-D constant")
            }
            guard case .string(let layout) = node.attribute(XNORPopcountGemmNode.Attribute.weightLayout), layout == "kn" || layout == "nk" else {
                throw fail("weight_layout must be \"kn\" or \"nk\"")
            }
            let rows = layout == "nk" ? weight.shape[0] : weight.shape[1]
            let columns = layout == "nk" ? weight.shape[1] : weight.shape[0]
            do {
                if let given = quantized[weightName] {
                    guard given.n == rows, given.k == columns, given.format == format else {
                        throw fail("weight '\(weightName)': the quantized codes are \(given.format.name) [\(given.n), \(given.k)], the node needs \(format.name) [\(rows), \(columns)]")
                    }
                    packed[weightName] = try PackedWeights.pack(given)
                } else if let mode = WeightMode.allCases.first(where: { $0.format == format }) {
                    packed[weightName] = try pack(weight, layout: layout, n: rows, k: columns, mode: mode, dispatch: dispatch)
                } else {
                    let values = try floatRows(weight, layout: layout, n: rows, k: columns)
                    packed[weightName] = try PackedWeights.pack(QuantizedMatrix.roundToNearest(values, n: rows, k: columns, format: format))
                }
            } catch let error as BitPackingError {
                // The packer knows only [n, k]; the user needs the tensor.
                throw fail("weight '\(weightName)': \(error.message)")
            }
            weight.releaseMappedPages()
            packedFormat[weightName] = format
            progress?(index + 1, xnorNodes.count)
        }

        var result = graph
        let stillUsed = Set(graph.nodes.flatMap(\.inputs))
        result.initializers.removeAll { packed[$0.name] != nil && !stillUsed.contains($0.name) }
        return PackedGraph(graph: result, weights: packed)
    }

    /// The weight as float32 [N, K] rows (BitNet's packed codes decoded as γ · code).
    static func floatRows(_ weight: ConstantTensor, layout: String, n: Int, k: Int) throws -> [Float] {
        if let ternary = weight.packedTernary {
            guard layout == "nk", weight.shape == [n, k], let bytes = PackedTernaryCodes.byteCount(rows: n, columns: k) else {
                throw Failure(node: weight.name, message: "packed ternary codes of shape \(weight.shape) cannot be an [\(n), \(k)] weight")
            }
            return try weight.withBytes { raw in
                guard raw.count == bytes else { throw Failure(node: weight.name, message: "packed ternary codes have \(raw.count) bytes, expected \(bytes)") }
                var values = [Float](repeating: 0, count: n * k)
                do {
                    try values.withUnsafeMutableBufferPointer { all in
                        for row in 0..<n {
                            try ternary.decode(row: row, rows: n, columns: k, bytes: raw,
                                               into: UnsafeMutableBufferPointer(rebasing: all[(row * k)..<(row * k + k)]))
                        }
                    }
                } catch let error as PackedTernaryCodes.InvalidCode {
                    throw Failure(node: weight.name, message: "tensor '\(weight.name)': \(error)")
                }
                return values
            }
        }
        let values = try weight.floatValues()
        return layout == "nk" ? values : transpose(values, rows: k, columns: n)
    }

    /// Packs a weight as [N, K] rows. A float32 weight already in [N, K] is packed straight
    /// from the mapped file; a [K, N] one is transposed from it into the one copy needed.
    static func pack(_ weight: ConstantTensor, layout: String, n: Int, k: Int, mode: WeightMode,
                     dispatch: KernelDispatch = KernelDispatch()) throws -> PackedWeights {
        if let ternary = weight.packedTernary { return try pack(weight, ternary, layout: layout, n: n, k: k, mode: mode) }
        guard weight.elementType == .f32, weight.blockType == nil else {
            let values = try weight.floatValues()
            let nk = layout == "nk" ? values : transpose(values, rows: k, columns: n)
            return try PackedWeights.pack(nk, n: n, k: k, mode: mode, dispatch: dispatch)
        }
        return try weight.withBytes { raw in
            guard raw.count == n * k * 4 else { throw Failure(node: weight.name, message: "weight has \(raw.count) bytes, expected \(n * k * 4)") }
            // Mapped tensors may sit at any offset, so the floats are copied when unaligned.
            if layout == "nk", Int(bitPattern: raw.baseAddress) % MemoryLayout<Float>.alignment == 0 {
                return try PackedWeights.pack(raw.assumingMemoryBound(to: Float.self), n: n, k: k, mode: mode, dispatch: dispatch)
            }
            if layout == "nk" {
                let values = [Float](unsafeUninitializedCapacity: n * k) { out, initialized in
                    _ = raw.copyBytes(to: UnsafeMutableRawBufferPointer(out))
                    initialized = n * k
                }
                return try PackedWeights.pack(values, n: n, k: k, mode: mode, dispatch: dispatch)
            }
            return try PackedWeights.pack(transpose(raw, rows: k, columns: n), n: n, k: k, mode: mode, dispatch: dispatch)
        }
    }

    /// Packs BitNet's stored 2-bit codes row by row from the mapped file (DESIGN.md: ternary
    /// source codes are taken as they are, γ = c), never holding the float matrix.
    static func pack(_ weight: ConstantTensor, _ ternary: PackedTernaryCodes, layout: String, n: Int, k: Int,
                     mode: WeightMode) throws -> PackedWeights {
        guard layout == "nk", weight.shape == [n, k], let bytes = PackedTernaryCodes.byteCount(rows: n, columns: k) else {
            throw Failure(node: weight.name, message: "packed ternary codes of shape \(weight.shape) cannot be an [\(n), \(k)] weight")
        }
        return try weight.withBytes { raw in
            guard raw.count == bytes else { throw Failure(node: weight.name, message: "packed ternary codes have \(raw.count) bytes, expected \(bytes)") }
            do {
                switch mode {
                case .w1_58:
                    return try PackedWeights.pack(n: n, k: k, ternaryScale: ternary.gamma) { row, codes in
                        try PackedTernaryCodes.decode(row: row, rows: n, columns: k, bytes: raw, into: codes)
                    }
                case .w1:
                    return try PackedWeights.packBinary(n: n, k: k) { row, values in
                        try ternary.decode(row: row, rows: n, columns: k, bytes: raw, into: values)
                    }
                }
            } catch let error as PackedTernaryCodes.InvalidCode {
                throw Failure(node: weight.name, message: "tensor '\(weight.name)': \(error)")
            }
        }
    }

    /// [rows, columns] → [columns, rows], in blocks so both sides stay in cache.
    static func transpose(_ values: [Float], rows: Int, columns: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: values.count) { out, initialized in
            values.withUnsafeBufferPointer { source in
                let block = 32
                for r0 in stride(from: 0, to: rows, by: block) {
                    for c0 in stride(from: 0, to: columns, by: block) {
                        for r in r0..<min(r0 + block, rows) {
                            for c in c0..<min(c0 + block, columns) {
                                out[c * rows + r] = source[r * columns + c]
                            }
                        }
                    }
                }
            }
            initialized = values.count
        }
    }

    /// The same transpose reading little-endian float32 straight from (possibly unaligned)
    /// file bytes, so a mapped weight is copied once.
    static func transpose(_ raw: UnsafeRawBufferPointer, rows: Int, columns: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: rows * columns) { out, initialized in
            let block = 32
            for r0 in stride(from: 0, to: rows, by: block) {
                for c0 in stride(from: 0, to: columns, by: block) {
                    for r in r0..<min(r0 + block, rows) {
                        for c in c0..<min(c0 + block, columns) {
                            out[c * rows + r] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: (r * columns + c) * 4, as: UInt32.self)))
                        }
                    }
                }
            }
            initialized = rows * columns
        }
    }
}
