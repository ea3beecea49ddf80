import Tensors

/// Reads NumPy .npy files (versions 1 to 3) of the plain numeric dtypes, C order.
///
/// The header is a Python dict literal; only the three keys numpy writes are accepted, and
/// the data length must match the shape exactly.
public struct NpyArray: Sendable {
    public var elementType: ScalarType
    public var shape: [Int]
    /// Little-endian element bytes, C order.
    public var data: [UInt8]

    public var elementCount: Int { shape.reduce(1, *) }

    /// The elements converted to float32.
    public func floatValues() throws -> [Float] {
        let count = elementCount
        return try data.withUnsafeBytes { source in
            try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                try elementType.decode(source: source, count: count, into: buffer)
                initialized = count
            }
        }
    }
}

public enum NpyReader {
    /// numpy descr strings of the types we read, little-endian or byte-order free.
    static let types: [String: ScalarType] = [
        "|b1": .bool, "|u1": .u8, "|i1": .i8, "<u2": .u16, "<i2": .i16, "<u4": .u32, "<i4": .i32,
        "<u8": .u64, "<i8": .i64, "<f2": .f16, "<f4": .f32, "<f8": .f64,
    ]

    public static func read(_ path: String) throws -> NpyArray {
        let file = try MappedFile.open(path)
        var cursor = file.cursor()
        let magic = try cursor.take(6, "magic")
        guard Array(magic) == [0x93] + Array("NUMPY".utf8) else {
            throw FormatError(path: path, location: .offset(0), "not a .npy file (bad magic)")
        }
        let major = try cursor.u8("version")
        _ = try cursor.u8("version")
        let headerLength: Int
        switch major {
        case 1: headerLength = Int(try cursor.u16("header length"))
        case 2, 3: headerLength = Int(try cursor.u32("header length"))
        default: throw FormatError(path: path, location: .offset(6), ".npy version \(major) is not supported")
        }
        let headerAt = cursor.offset
        let header = String(decoding: try cursor.take(headerLength, "header"), as: UTF8.self)
        func field(_ key: String) throws -> Substring {
            guard let range = header.range(of: "'\(key)':") else {
                throw FormatError(path: path, location: .fieldAtOffset(key, headerAt), "missing from the .npy header")
            }
            return header[range.upperBound...].drop { $0 == " " }
        }
        let descrText = try field("descr")
        guard descrText.first == "'", let close = descrText.dropFirst().firstIndex(of: "'") else {
            throw FormatError(path: path, location: .field("descr"), "is not a quoted string")
        }
        let descr = String(descrText[descrText.index(after: descrText.startIndex)..<close])
        guard let type = types[descr] ?? (descr == "=f4" ? .f32 : nil) else {
            throw FormatError(path: path, location: .field("descr"), "dtype '\(descr)' is not supported (use little-endian numeric types)")
        }
        guard try field("fortran_order").hasPrefix("False") else {
            throw FormatError(path: path, location: .field("fortran_order"), "Fortran-order arrays are not supported")
        }
        let shapeText = try field("shape")
        guard shapeText.first == "(", let end = shapeText.firstIndex(of: ")") else {
            throw FormatError(path: path, location: .field("shape"), "is not a tuple")
        }
        var shape: [Int] = []
        for part in shapeText[shapeText.index(after: shapeText.startIndex)..<end].split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: " ")
            if trimmed.isEmpty { continue }
            guard let dim = Int(trimmed), dim >= 0 else {
                throw FormatError(path: path, location: .field("shape"), "dimension '\(trimmed)' is not a non-negative integer")
            }
            shape.append(dim)
        }
        guard let count = Checked.product(shape), let bytes = Checked.multiply(count, type.byteSize) else {
            throw FormatError(path: path, location: .field("shape"), "the size of shape \(shape) overflows")
        }
        guard bytes == cursor.remaining else {
            throw FormatError(path: path, location: .offset(cursor.offset), "data is \(cursor.remaining) bytes but shape \(shape) of \(descr) needs \(bytes)")
        }
        let data = Array(try cursor.take(bytes, "data"))
        return NpyArray(elementType: type, shape: shape, data: data)
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
