import Formats
import Tensors

/// What must hold for every model a reader accepts, whatever bytes it came from.
///
/// A violation is a reader bug that would surface later as a trap in `inspect`, `dump` or the
/// converter, so it traps here and libFuzzer keeps the input. Small tensors are also converted
/// to float32, which fuzzes the dequantizers with whatever block bytes the input holds.
public enum ReaderInvariants {
    /// Tensors up to this many bytes (and producing up to this many floats) are decoded.
    public static let maximumDecodedBytes = 1 << 20

    public static func check(_ model: ModelFile) {
        for tensor in model.tensors {
            check(tensor)
        }
        // `inspect --json` writes the metadata with JSONWriter; what it writes must be JSON.
        let metadata = JSONValue.object(model.metadata.map { ($0.key, $0.value) })
        let text = JSONWriter(indent: 2).string(metadata)
        do {
            _ = try JSONParser.parse(text)
        } catch {
            fatalError("metadata written by JSONWriter is not valid JSON (\(error)): \(text.prefix(400))")
        }
    }

    static func check(_ tensor: TensorEntry) {
        let name = "tensor '\(tensor.name)'"
        guard let count = Checked.product(tensor.shape) else {
            fatalError("\(name): accepted shape \(tensor.shape) whose element count overflows")
        }
        let expectedBytes: Int?
        let decodable: Bool
        switch tensor.type {
        case .scalar(let scalar):
            expectedBytes = Checked.multiply(count, scalar.byteSize)
            decodable = true
        case .ggml(let ggml):
            expectedBytes = ggml.byteCount(elements: count)
            decodable = ggml.canDequantize
        }
        guard expectedBytes == tensor.byteCount else {
            fatalError("\(name): \(tensor.byteCount) bytes accepted for shape \(tensor.shape) of \(tensor.type), which needs \(String(describing: expectedBytes))")
        }
        // An empty tensor may sit past the end (gguf-py reads a file whose empty tensors' data
        // offset lies beyond it); it has no bytes to read.
        guard tensor.offset >= 0, let end = Checked.add(tensor.offset, tensor.byteCount),
              end <= tensor.file.size || tensor.byteCount == 0 else {
            fatalError("\(name): data at \(tensor.offset) + \(tensor.byteCount) lies outside the \(tensor.file.size)-byte file")
        }
        guard decodable, tensor.byteCount <= maximumDecodedBytes, count <= maximumDecodedBytes / 4 else { return }
        do {
            let values = try tensor.floatValues()
            guard values.count == count else {
                fatalError("\(name): floatValues gave \(values.count) values for \(count) elements")
            }
        } catch {
            fatalError("\(name): an accepted \(tensor.type) tensor cannot be decoded: \(error)")
        }
    }

    /// Bad input must come back as a FormatError, the one error type the CLI reports as data.
    public static func expectFormatError(_ error: any Error) {
        guard error is FormatError else {
            fatalError("reader threw \(type(of: error)) instead of FormatError: \(error)")
        }
    }
}
