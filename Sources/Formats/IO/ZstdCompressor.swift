import CZstd

/// Streams a file through zstd into an atomically written `.zst` file, for `convert
/// --compress zstd`. Memory stays at zstd's window plus one buffer whatever the file size.
public enum ZstdCompressor {
    public static func compress(_ source: MappedFile, to path: String, replace: Bool, level: Int32 = 3) throws {
        let writer = try AtomicFileWriter(path: path, replace: replace)
        try compress(source, into: writer, level: level)
        try writer.commit()
    }

    /// Compresses into `writer` without committing it.
    public static func compress(_ source: MappedFile, into writer: AtomicFileWriter, level: Int32 = 3) throws {
        let path = writer.path
        guard let stream = ZSTD_createCStream() else { throw FormatError(path: path, "zstd: cannot allocate a compression stream") }
        defer { ZSTD_freeCStream(stream) }
        ZSTD_initCStream(stream, level)
        let outCapacity = ZSTD_CStreamOutSize()
        let outBuffer = UnsafeMutableRawPointer.allocate(byteCount: outCapacity, alignment: 64)
        defer { outBuffer.deallocate() }
        let chunk = 1 << 20
        var offset = 0
        repeat {
            let end = min(offset + chunk, source.size)
            let bytes = try source.bytes(in: offset..<end)
            var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
            while input.pos < input.size {
                var output = ZSTD_outBuffer(dst: outBuffer, size: outCapacity, pos: 0)
                let result = ZSTD_compressStream(stream, &output, &input)
                if ZSTD_isError(result) != 0 { throw FormatError(path: path, "zstd: \(String(cString: ZSTD_getErrorName(result)))") }
                try writer.append(UnsafeRawBufferPointer(start: outBuffer, count: output.pos))
            }
            offset = end
        } while offset < source.size
        var remaining = 1
        while remaining != 0 {
            var output = ZSTD_outBuffer(dst: outBuffer, size: outCapacity, pos: 0)
            remaining = ZSTD_endStream(stream, &output)
            if ZSTD_isError(remaining) != 0 { throw FormatError(path: path, "zstd: \(String(cString: ZSTD_getErrorName(remaining)))") }
            try writer.append(UnsafeRawBufferPointer(start: outBuffer, count: output.pos))
        }
    }
}
