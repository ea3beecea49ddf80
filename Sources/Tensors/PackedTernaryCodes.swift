/// BitNet's packed ternary weights (microsoft/bitnet-b1.58-2B-4T, transformers'
/// `pack_weights`): a weight W [N, K], N a multiple of 4, stored as uint8 [N/4, K] where bits
/// 2j..2j+1 of byte [r, c] hold code(j·N/4 + r, c) + 1, with W = γ · code.
///
/// Rows are decoded one at a time from the stored bytes, so a packed checkpoint is used in
/// place: the float32 matrix is never built.
public struct PackedTernaryCodes: Sendable, Equatable {
    /// The multiplier of the codes: W = γ · code.
    public var gamma: Float

    public init(gamma: Float) { self.gamma = gamma }

    /// The stored bytes of a [rows, columns] weight, or nil when rows is not a positive
    /// multiple of 4 or the size overflows.
    public static func byteCount(rows: Int, columns: Int) -> Int? {
        guard rows > 0, rows % 4 == 0, columns >= 0 else { return nil }
        return Checked.multiply(rows / 4, columns)
    }

    /// A stored byte whose 2-bit field is 3, which no ternary code packs to.
    public struct InvalidCode: Error, CustomStringConvertible, Equatable, Sendable {
        /// Offset of the byte within the tensor's data.
        public var byteOffset: Int
        public var description: String { "byte \(byteOffset) holds the code 3, which is not ternary" }
    }

    /// Writes the codes (−1, 0, 1) of row `row` of a [rows, columns] weight into `codes`.
    /// `bytes` must hold `byteCount(rows:columns:)` bytes and `codes` at least `columns`.
    public static func decode(row: Int, rows: Int, columns: Int, bytes: UnsafeRawBufferPointer,
                              into codes: UnsafeMutableBufferPointer<Int8>) throws(InvalidCode) {
        precondition(row >= 0 && row < rows && rows % 4 == 0 && codes.count >= columns && bytes.count >= rows / 4 * columns,
                     "ternary row \(row) of [\(rows), \(columns)] out of range")
        let quarter = rows / 4
        let shift = UInt8(2 * (row / quarter))
        let start = (row % quarter) * columns
        for c in 0..<columns {
            let field = (bytes[start + c] >> shift) & 3
            guard field != 3 else { throw InvalidCode(byteOffset: start + c) }
            codes[c] = Int8(field) - 1
        }
    }

    /// Writes row `row` as float32 values γ · code into `values`.
    public func decode(row: Int, rows: Int, columns: Int, bytes: UnsafeRawBufferPointer,
                       into values: UnsafeMutableBufferPointer<Float>) throws(InvalidCode) {
        precondition(row >= 0 && row < rows && rows % 4 == 0 && values.count >= columns && bytes.count >= rows / 4 * columns,
                     "ternary row \(row) of [\(rows), \(columns)] out of range")
        let quarter = rows / 4
        let shift = UInt8(2 * (row / quarter))
        let start = (row % quarter) * columns
        let table: (Float, Float, Float) = (-gamma, 0, gamma)
        for c in 0..<columns {
            let field = (bytes[start + c] >> shift) & 3
            switch field {
            case 0: values[c] = table.0
            case 1: values[c] = table.1
            case 2: values[c] = table.2
            default: throw InvalidCode(byteOffset: start + c)
            }
        }
    }
}
