import Formats
import FuzzSupport

private let scratch = ScratchFile(extension: "gguf")

/// libFuzzer's entry point: the input as a GGUF file, read and, where small, dequantized.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let file = scratch.mapped(data, count: size)
    do {
        ReaderInvariants.check(try GGUFReader.read(file))
    } catch {
        ReaderInvariants.expectFormatError(error)
    }
    return 0
}
