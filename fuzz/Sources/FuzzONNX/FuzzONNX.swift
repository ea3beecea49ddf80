import Formats
import Graph
import FuzzSupport

private let scratch = ScratchFile(extension: "onnx")
private let zstdMagic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

/// libFuzzer's entry point: the input as a .onnx file, opened the way the CLI opens a model.
///
/// `ModelOpener.detect` picks the ONNX reader by the `.onnx` name and parses the ModelProto with
/// swift-protobuf, splitting out the main graph's initializers' raw_data as ranges of the file.
/// A model that parses is then imported (`ONNXImporter`: subgraphs, attributes, typed tensor
/// fields, validation), and an imported graph must survive its JSON round trip.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzONNX(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // zstd input is FuzzZstd's (a small frame may legally inflate to gigabytes).
    // Input with the GGUF magic goes to the GGUF reader whatever its name: FuzzGGUF's.
    if size >= 4, Array(UnsafeBufferPointer(start: data, count: 4)) == zstdMagic || Array(UnsafeBufferPointer(start: data, count: 4)) == Array("GGUF".utf8) { return 0 }
    scratch.write(data, count: size)
    defer { scratch.remove() }
    do {
        switch try ModelOpener.detect(scratch.path) {
        case .onnx(let onnx):
            guard onnx.rawData.count == onnx.model.graph.initializer.count else {
                fatalError("\(onnx.rawData.count) raw_data ranges for \(onnx.model.graph.initializer.count) initializers")
            }
            for case let range? in onnx.rawData {
                guard range.lowerBound >= 0, range.upperBound <= onnx.file.size else {
                    fatalError("raw_data range \(range) lies outside the \(onnx.file.size)-byte file")
                }
                _ = try onnx.file.bytes(in: range)
            }
            GraphRoundTrip.check(try ONNXImporter.load(onnx).graph)
        case .tensors(let model):
            fatalError("a .onnx file was read as \(model.format.rawValue)")
        case .xnor:
            fatalError("a .onnx file was read as .xnor")
        }
    } catch {
        ReaderInvariants.expectFormatError(error)
    }
    return 0
}
