import Graph
import Tensors

/// A constant matrix [N, K] read one row at a time in its storage type (F32, F16, BF16,
/// Q8_0, the K-quants, BitNet's packed ternary codes, …), so weights kept at source precision are used in place and never
/// widened to a float32 copy of the whole matrix.
struct WeightRows: Sendable {
    let constant: ConstantTensor
    let rows: Int
    let columns: Int
    let rowBytes: Int

    init(_ constant: ConstantTensor) throws {
        guard constant.shape.count == 2 else {
            throw OpError("weight '\(constant.name)' must be a matrix, has shape \(constant.shape)")
        }
        guard let bytes = constant.expectedByteCount, bytes == constant.byteCount else {
            throw OpError("weight '\(constant.name)' holds \(constant.byteCount) bytes, which does not fit \(constant.storageTypeName) \(constant.shape)")
        }
        if constant.packedTernary != nil {
            // Read in place: `decode` unpacks one row of codes at a time.
        } else if constant.blockType == nil {
            guard constant.elementType.isFloatingPoint else {
                throw OpError("weight '\(constant.name)' is \(constant.elementType.rawValue), not a float type")
            }
        } else {
            guard constant.blockType?.canDequantize == true else {
                throw OpError("weight '\(constant.name)' is \(constant.storageTypeName), which cannot be dequantized")
            }
        }
        self.constant = constant
        rows = constant.shape[0]
        columns = constant.shape[1]
        // Packed ternary rows are interleaved in the stored bytes: decode finds them itself.
        rowBytes = rows == 0 || constant.packedTernary != nil ? 0 : bytes / rows
    }

    /// Calls `body` with a reader that decodes row `n` into `columns` floats.
    func withReader<R>(_ body: (Reader) throws -> R) throws -> R {
        try constant.withBytes { raw in try body(Reader(raw: raw, rows: self)) }
    }

    struct Reader {
        let raw: UnsafeRawBufferPointer
        let rows: WeightRows

        func decode(row n: Int, into destination: UnsafeMutableBufferPointer<Float>) throws {
            guard n >= 0, n < rows.rows, destination.count >= rows.columns else {
                throw OpError("row \(n) of weight '\(rows.constant.name)' is out of range [0, \(rows.rows))")
            }
            if let ternary = rows.constant.packedTernary {
                do {
                    return try ternary.decode(row: n, rows: rows.rows, columns: rows.columns, bytes: raw, into: destination)
                } catch {
                    throw OpError("weight '\(rows.constant.name)': \(error)")
                }
            }
            let source = UnsafeRawBufferPointer(rebasing: raw[(n &* rows.rowBytes)..<((n &+ 1) &* rows.rowBytes)])
            if let blockType = rows.constant.blockType {
                try Dequantizer.dequantize(blockType, source: source, count: rows.columns, into: destination)
            } else {
                try rows.constant.elementType.decode(source: source, count: rows.columns, into: destination)
            }
        }
    }
}
