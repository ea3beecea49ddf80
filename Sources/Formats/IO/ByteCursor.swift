/// Reads little-endian values one after another from a mapped file.
///
/// Each read checks the bytes left first and throws a `FormatError` with the offset, so a
/// truncated or lying file can never make a reader trap or read out of bounds. Loads are
/// unaligned-safe: GGUF puts 8-byte integers at any offset.
public struct ByteCursor {
    public let file: MappedFile
    public private(set) var offset: Int

    public init(file: MappedFile, offset: Int) {
        self.file = file
        self.offset = offset
    }

    public var remaining: Int { max(0, file.size - offset) }

    /// A FormatError at the cursor's current offset.
    public func error(_ message: String, field: String? = nil) -> FormatError {
        if let field { return FormatError(path: file.path, location: .fieldAtOffset(field, offset), message) }
        return FormatError(path: file.path, location: .offset(offset), message)
    }

    /// Takes `count` bytes, or throws naming `what` when fewer are left. `what` is made only
    /// for the error: a reader of 10⁸ array items must not build 10⁸ field names.
    public mutating func take(_ count: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else {
            throw error("unexpected end of file: \(what()) needs \(count) bytes, \(remaining) left")
        }
        let bytes = try file.bytes(in: offset..<(offset + count))
        offset += count
        return bytes
    }

    public mutating func skip(to newOffset: Int) throws {
        guard newOffset >= 0, newOffset <= file.size else {
            throw error("offset \(newOffset) is past end of file (\(file.size) bytes)")
        }
        offset = newOffset
    }

    mutating func load<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let bytes = try take(MemoryLayout<T>.size, what())
        return T(littleEndian: bytes.loadUnaligned(as: T.self))
    }

    public mutating func u8(_ what: @autoclosure () -> String) throws -> UInt8 { try load(UInt8.self, what()) }
    public mutating func i8(_ what: @autoclosure () -> String) throws -> Int8 { try load(Int8.self, what()) }
    public mutating func u16(_ what: @autoclosure () -> String) throws -> UInt16 { try load(UInt16.self, what()) }
    public mutating func i16(_ what: @autoclosure () -> String) throws -> Int16 { try load(Int16.self, what()) }
    public mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 { try load(UInt32.self, what()) }
    public mutating func i32(_ what: @autoclosure () -> String) throws -> Int32 { try load(Int32.self, what()) }
    public mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 { try load(UInt64.self, what()) }
    public mutating func i64(_ what: @autoclosure () -> String) throws -> Int64 { try load(Int64.self, what()) }
    public mutating func f32(_ what: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try load(UInt32.self, what()))
    }
    public mutating func f64(_ what: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try load(UInt64.self, what()))
    }
}
