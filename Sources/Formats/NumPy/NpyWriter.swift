/// Encodes float32 arrays in NumPy's .npy format (version 1.0).
///
/// The header is padded with spaces so the data starts on a 64-byte boundary, as numpy
/// itself writes it; the data that follows is the little-endian float32 values.
public enum NpyWriter {
    public static func header(float32Shape shape: [Int]) -> [UInt8] {
        let dims = shape.map(String.init)
        let shapeText = shape.count == 1 ? "(\(dims[0]),)" : "(\(dims.joined(separator: ", ")))"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        let fixed = 10  // magic (6) + version (2) + header length (2)
        let total = (fixed + header.utf8.count + 1 + 63) / 64 * 64
        header += String(repeating: " ", count: total - fixed - header.utf8.count - 1) + "\n"
        let length = UInt16(header.utf8.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8)
    }

    /// Writes the array to `path` atomically.
    public static func write(float32 values: [Float], shape: [Int], to path: String, replace: Bool) throws {
        let writer = try AtomicFileWriter(path: path, replace: replace)
        try writer.append(header(float32Shape: shape))
        try values.withUnsafeBytes { raw in
            #if _endian(big)
            #error("npy output assumes a little-endian host")
            #endif
            try writer.append(raw)
        }
        try writer.commit()
    }
}
