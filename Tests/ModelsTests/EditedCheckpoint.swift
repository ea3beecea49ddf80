import Foundation
import Formats
import Models
import Tensors

/// A copy of an LLM fixture with one thing changed, in a folder of its own (the cases of a
/// parameterized test run in parallel), removed when the value goes away.
final class EditedCheckpoint {
    let folder: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.path + "/xnor-edited-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    /// One source tensor to write: its name, safetensors dtype, shape and bytes.
    struct Tensor {
        var name: String
        var dtype: String
        var shape: [Int]
        var bytes: [UInt8]

        /// The same shape in another dtype, zero-filled: what a check of the type must refuse
        /// before it reads a value.
        func retyped(_ dtype: String, byteSize: Int) -> Tensor {
            Tensor(name: name, dtype: dtype, shape: shape, bytes: [UInt8](repeating: 0, count: shape.reduce(1, *) * byteSize))
        }
    }

    /// The Hugging Face folder of fixture `name` with config.json's text edited and its
    /// tensors rewritten (safetensors' layout: a JSON header, then the data in order).
    static func folder(_ name: String, config edit: (String) -> String = { $0 },
                       tensors change: ([Tensor]) -> [Tensor] = { $0 }) throws -> EditedCheckpoint {
        let copy = try EditedCheckpoint()
        let source = LanguageModelCase(name: name).folder
        let config = try String(contentsOfFile: source + "/config.json", encoding: .utf8)
        try edit(config).write(toFile: copy.folder + "/config.json", atomically: true, encoding: .utf8)
        let model = try ModelOpener.open(source + "/model.safetensors")
        let tensors = try change(model.tensors.map { entry in
            Tensor(name: entry.name, dtype: entry.type.description, shape: entry.shape,
                   bytes: try entry.file.bytes(in: entry.offset..<(entry.offset + entry.byteCount)).map { $0 })
        })
        var header: [(String, JSONValue)] = []
        var offset = 0
        for tensor in tensors {
            header.append((tensor.name, .object([
                ("dtype", .string(tensor.dtype)), ("shape", .array(tensor.shape.map { .int(Int64($0)) })),
                ("data_offsets", .array([.int(Int64(offset)), .int(Int64(offset + tensor.bytes.count))])),
            ])))
            offset += tensor.bytes.count
        }
        var headerBytes = Array(JSONWriter(indent: nil).string(.object(header)).utf8)
        headerBytes += [UInt8](repeating: 0x20, count: (8 - headerBytes.count % 8) % 8)
        var data = withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { Array($0) } + headerBytes
        for tensor in tensors { data += tensor.bytes }
        try Data(data).write(to: URL(fileURLWithPath: copy.folder + "/model.safetensors"))
        return copy
    }

    /// GGUF `file` of fixture `name` with metadata values replaced or added, and tensors'
    /// payloads replaced by float32 values.
    static func gguf(_ name: String, _ file: String, metadata edits: [(String, GGUFMetadataValue)] = [],
                     floats: [String: (Int) -> Float] = [:]) throws -> (EditedCheckpoint, String) {
        let copy = try EditedCheckpoint()
        let model = try ModelOpener.open(LanguageModelCase(name: name).folder + "/" + file)
        var writer = GGUFWriter()
        var pending = edits
        for entry in model.metadata {
            guard let value = entry.gguf else { continue }
            if let i = pending.firstIndex(where: { $0.0 == entry.key }) {
                writer.add(entry.key, pending.remove(at: i).1)
            } else {
                writer.add(entry.key, value)
            }
        }
        for (key, value) in pending { writer.add(key, value) }
        for tensor in model.tensors {
            guard case .ggml(let type) = tensor.type else { continue }
            if let value = floats[tensor.name] {
                writer.addTensor(name: tensor.name, type: .f32, shape: tensor.shape,
                                 payload: .values((0..<tensor.elementCount).map(value)))
            } else {
                writer.addTensor(name: tensor.name, type: type, shape: tensor.shape, payload: .view(tensor))
            }
        }
        let path = copy.folder + "/" + file
        try writer.write(to: path, replace: false)
        return (copy, path)
    }
}
