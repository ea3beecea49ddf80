import Formats
import FuzzSupport

private let scratch = ScratchFile(extension: "safetensors")

/// libFuzzer's entry point: the input as a .safetensors file, read and, where small, decoded.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let file = scratch.mapped(data, count: size)
    do {
        ReaderInvariants.check(try SafetensorsReader.read(file))
    } catch {
        ReaderInvariants.expectFormatError(error)
    }
    return 0
}
