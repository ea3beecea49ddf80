import CZstd
#if canImport(Glibc)
import Glibc
#endif

/// Streaming zstd decompression of a whole input into a temporary file.
///
/// Models are too large to inflate in memory, so the frames are decoded through a fixed
/// output buffer into a temporary file, unlinked as soon as it is made (nothing survives the
/// process, however it ends), which is then mapped like any other input. Memory stays bounded
/// by zstd's window limit (its default refuses frames that ask for more than 128 MiB). The
/// decompressed size is bounded by `DecompressionLimit`: a zstd bomb ends with an error that
/// names the limit, after at most that many bytes, or at once when its frames declare more.
enum ZstdStream {
    static let magic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    static func hasMagic(_ file: MappedFile) -> Bool {
        guard file.size >= 4, let head = try? file.bytes(in: 0..<4) else { return false }
        return Array(head) == magic
    }

    static func decompressToMappedFile(_ source: MappedFile, limit: Int) throws -> MappedFile {
        let directory = temporaryDirectory()
        var template = Array("\(directory)/xnor-zstd-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw FormatError(path: source.path, "cannot create a temporary file in \(directory) to decompress into: \(SystemError.describe(errno))")
        }
        unlink(String(cString: template.withUnsafeBufferPointer { $0.baseAddress! }))
        defer { close(fd) }
        let free = freeBytes(directory)
        try inflate(source, to: fd, limit: limit, free: free)
        return try MappedFile(descriptor: fd, displayPath: source.path)
    }

    private static func inflate(_ source: MappedFile, to fd: Int32, limit: Int, free: Int) throws {
        guard let stream = ZSTD_createDStream() else {
            throw FormatError(path: source.path, "zstd: cannot allocate a decompression stream")
        }
        defer { ZSTD_freeDStream(stream) }
        ZSTD_initDStream(stream)

        let all = try source.bytes(in: 0..<source.size)
        // Frames that declare their sizes are refused before any work when they declare more.
        if let declared = declaredSize(all), declared > UInt64(limit) {
            throw FormatError(path: source.path, DecompressionLimit.message(declared: declared, limit: limit))
        }
        let outCapacity = ZSTD_DStreamOutSize()
        let outBuffer = UnsafeMutableRawPointer.allocate(byteCount: outCapacity, alignment: 64)
        defer { outBuffer.deallocate() }

        var input = ZSTD_inBuffer(src: all.baseAddress, size: all.count, pos: 0)
        var written = 0
        var lastResult = 0
        while true {
            var output = ZSTD_outBuffer(dst: outBuffer, size: outCapacity, pos: 0)
            let consumedBefore = input.pos
            let result = ZSTD_decompressStream(stream, &output, &input)
            if ZSTD_isError(result) != 0 {
                let name = String(cString: ZSTD_getErrorName(result))
                throw FormatError(path: source.path, location: .offset(input.pos), "zstd: \(name)")
            }
            lastResult = result
            if output.pos > 0 {
                written += output.pos
                guard written <= limit else {
                    throw FormatError(path: source.path, DecompressionLimit.message(declared: nil, limit: limit))
                }
                guard written <= free else {
                    throw FormatError(path: source.path, "zstd: decompressed data exceeds the \(free) bytes free for the temporary file")
                }
                try writeAll(fd, outBuffer, output.pos, path: source.path)
            }
            // Done when the last frame is complete and the input consumed. The decoder takes
            // input into its own buffer ahead of the output, so a consumed input alone says
            // nothing; a call that makes no progress with nothing left to read is a truncation.
            if result == 0 && input.pos == input.size { break }
            if input.pos == input.size && output.pos == 0 && input.pos == consumedBefore { break }
        }
        guard lastResult == 0 else {
            throw FormatError(path: source.path, location: .offset(source.size), "zstd: the compressed stream is truncated (the last frame is incomplete)")
        }
    }

    /// The content size the frames declare, summed; nil when a frame declares none (the
    /// stream is then bounded while decoding). Malformed frames are left to the decoder.
    static func declaredSize(_ all: UnsafeRawBufferPointer) -> UInt64? {
        guard var at = all.baseAddress else { return nil }
        var remaining = all.count
        var total: UInt64 = 0
        while remaining > 0 {
            let size = ZSTD_getFrameContentSize(at, remaining)
            let frame = ZSTD_findFrameCompressedSize(at, remaining)
            guard size != ZSTD_CONTENTSIZE_UNKNOWN, size != ZSTD_CONTENTSIZE_ERROR, ZSTD_isError(frame) == 0, frame > 0, frame <= remaining else {
                return nil
            }
            let (sum, overflow) = total.addingReportingOverflow(UInt64(size))
            guard !overflow else { return UInt64.max }
            total = sum
            at += frame
            remaining -= frame
        }
        return total
    }

    private static func writeAll(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, path: String) throws {
        var done = 0
        while done < count {
            let n = write(fd, buffer + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw FormatError(path: path, "cannot write the decompressed temporary file: \(SystemError.describe(errno))")
            }
            done += n
        }
    }

    static func temporaryDirectory() -> String {
        if let tmp = getenv("TMPDIR"), tmp.pointee != 0 { return String(cString: tmp) }
        return "/tmp"
    }

    private static func freeBytes(_ directory: String) -> Int {
        var info = statvfs()
        guard statvfs(directory, &info) == 0 else { return Int.max }
        let (bytes, overflow) = Int(info.f_bavail).multipliedReportingOverflow(by: Int(info.f_frsize))
        return overflow ? Int.max : bytes
    }
}
