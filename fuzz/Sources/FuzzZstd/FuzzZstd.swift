import Formats
import FuzzSupport

private let scratch = ScratchFile(extension: "zst")
private let zstdMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
/// At most this much is decompressed (the CLI's --max-decompressed). Low, so that a bomb ends as
/// an error quickly: the bound's logic, not its size, is what is fuzzed, and executions stay
/// fast enough for 10^7 of them.
private let limit = 1 << 20
private let setLimit: Void = DecompressionLimit.set(limit)

/// libFuzzer's entry point: the input as a zstd stream (the magic is prepended when missing),
/// opened with `MappedFile.open`, which streams it into an unlinked temporary file and maps it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZstd(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = setLimit
    if size >= 4, Array(UnsafeBufferPointer(start: data, count: 4)) == zstdMagic {
        scratch.write(data, count: size)
    } else {
        var bytes = zstdMagic
        bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: size))
        bytes.withUnsafeBufferPointer { scratch.write($0.baseAddress!, count: $0.count) }
    }
    defer { scratch.remove() }
    do {
        let file = try MappedFile.open(scratch.path)
        guard file.size <= limit else {
            fatalError("decompressed to \(file.size) bytes, over the limit of \(limit)")
        }
        // Touch the whole mapping: a short temporary file would fault here (SIGBUS).
        if file.size > 0 {
            let all = try file.bytes(in: 0..<file.size)
            var sum: UInt8 = 0
            var i = 0
            while i < all.count { sum &+= all[i]; i += 4096 }
            if all.count > 0 { sum &+= all[all.count - 1] }
            _ = sum
        }
    } catch {
        ReaderInvariants.expectFormatError(error)
    }
    return 0
}
