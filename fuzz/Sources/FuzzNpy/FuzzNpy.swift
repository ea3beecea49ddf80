import Formats
import Tensors
import FuzzSupport

private let scratch = ScratchFile(extension: "npy")
private let zstdMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

/// libFuzzer's entry point: the input as a NumPy .npy file, read and, where small, decoded.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNpy(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // NpyReader opens by path, which sends zstd input through decompression into a temporary
    // file; that path is libzstd's, and a small frame may legally inflate to gigabytes.
    if size >= 4, Array(UnsafeBufferPointer(start: data, count: 4)) == zstdMagic { return 0 }
    scratch.write(data, count: size)
    defer { scratch.remove() }
    do {
        let array = try NpyReader.read(scratch.path)
        guard let count = Checked.product(array.shape), Checked.multiply(count, array.elementType.byteSize) == array.data.count else {
            fatalError("accepted shape \(array.shape) of \(array.elementType) with \(array.data.count) data bytes")
        }
        if array.data.count <= ReaderInvariants.maximumDecodedBytes, count <= ReaderInvariants.maximumDecodedBytes / 4 {
            let values = try array.floatValues()
            guard values.count == count else { fatalError("floatValues gave \(values.count) values for \(count) elements") }
        }
    } catch {
        ReaderInvariants.expectFormatError(error)
    }
    return 0
}
