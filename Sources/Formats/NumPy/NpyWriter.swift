/// Encodes float32 arrays in NumPy's .npy format: version 1.0, or 2.0 when the header
/// outgrows 1.0's 16-bit length (a shape of thousands of dims), as numpy does.
///
/// The header is padded with spaces so the data starts on a 64-byte boundary, as numpy
/// itself writes it; the data that follows is the little-endian float32 values.
public enum NpyWriter {
    public static func header(float32Shape shape: [Int]) throws -> [UInt8] {
        let dims = shape.map(String.init)
        let shapeText = shape.count == 1 ? "(\(dims[0]),)" : "(\(dims.joined(separator: ", ")))"
        let dictionary = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        for (major, lengthBytes) in [(UInt8(1), 2), (UInt8(2), 4)] {
            let fixed = 8 + lengthBytes  // magic (6) + version (2) + header length
            let total = (fixed + dictionary.utf8.count + 1 + 63) / 64 * 64
            let header = dictionary + String(repeating: " ", count: total - fixed - dictionary.utf8.count - 1) + "\n"
            let length = header.utf8.count
            guard length < 1 << (8 * lengthBytes) else { continue }
            let lengthField = (0..<lengthBytes).map { UInt8(truncatingIfNeeded: length >> (8 * $0)) }
            return [0x93] + Array("NUMPY".utf8) + [major, 0] + lengthField + Array(header.utf8)
        }
        throw FormatError(path: "", "a .npy header for \(shape.count) dims does not fit in 4 GiB")
    }

    /// Writes the array to `path` atomically.
    public static func write(float32 values: [Float], shape: [Int], to path: String, replace: Bool) throws {
        let writer = try AtomicFileWriter(path: path, replace: replace)
        try write(float32: values, shape: shape, into: writer)
        try writer.commit()
    }

    /// Writes the array into `writer` without committing it.
    public static func write(float32 values: [Float], shape: [Int], into writer: AtomicFileWriter) throws {
        try writer.append(header(float32Shape: shape))
        try values.withUnsafeBytes { raw in
            #if _endian(big)
            #error("npy output assumes a little-endian host")
            #endif
            try writer.append(raw)
        }
    }
}
