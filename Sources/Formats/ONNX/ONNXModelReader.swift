import Foundation
import SwiftProtobuf

/// A parsed .onnx file: the ModelProto, and where the main graph's weights are in the file.
///
/// The main graph's initializers come without their raw_data (swift-protobuf would copy it);
/// `rawData[i]` is instead the byte range of initializer i's raw_data in `file`, so the
/// weights stay views into the mapping.
public struct ONNXModelFile: Sendable {
    /// The path the user gave; errors name it.
    public let path: String
    /// The folder that external data locations are relative to and must stay inside.
    public let folder: String
    public let file: MappedFile
    public let model: Xnorkit_Onnx_ModelProto
    /// One entry per `model.graph.initializer`: its raw_data range in `file`, or nil when
    /// the tensor has no raw_data field.
    public let rawData: [Range<Int>?]
}

public enum ONNXModelReader {
    /// Parses the ONNX model at `path` (zstd-compressed files are decompressed first).
    public static func read(_ path: String) throws -> ONNXModelFile {
        try read(try MappedFile.open(path), path: path)
    }

    /// Parses an ONNX model already mapped (and decompressed); `path` locates external data.
    public static func read(_ file: MappedFile, path: String) throws -> ONNXModelFile {
        guard file.size > 0 else { throw FormatError(path: path, "empty file: not an ONNX model") }
        let all = try file.bytes(in: 0..<file.size)
        guard let base = all.baseAddress else { throw FormatError(path: path, "empty file: not an ONNX model") }
        // A view of the mapping for swift-protobuf; nothing is copied and nothing freed.
        let data = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: base), count: all.count, deallocator: .none)
        let wire = ProtobufWire(bytes: all, path: path)

        var model = Xnorkit_Onnx_ModelProto()
        var graph = Xnorkit_Onnx_GraphProto()
        var hasGraph = false
        var rawData: [Range<Int>?] = []

        func merge<M: SwiftProtobuf.Message>(_ message: inout M, _ range: Range<Int>) throws {
            do {
                try message.merge(serializedBytes: data[range])
            } catch {
                throw FormatError(path: path, location: .offset(range.lowerBound),
                                  "not a valid ONNX protobuf (truncated?): \(M.protoMessageName): \(error)")
            }
        }

        var budget = ONNXMessageBudget(wire: wire)
        try budget.check(0..<all.count, as: .model)

        // ModelProto.graph (7) -> GraphProto.initializer (5) -> TensorProto.raw_data (9).
        try wire.split(0..<all.count, special: [7], merge: { try merge(&model, $0) }, handle: { graphField in
            hasGraph = true
            try wire.split(graphField.payload, special: [5], merge: { try merge(&graph, $0) }, handle: { tensorField in
                var tensor = Xnorkit_Onnx_TensorProto()
                var raw: Range<Int>?
                try wire.split(tensorField.payload, special: [9], merge: { try merge(&tensor, $0) }, handle: {
                    raw = $0.payload  // the last occurrence wins, as for any singular field
                })
                graph.initializer.append(tensor)
                rawData.append(raw)
            })
        })
        if hasGraph { model.graph = graph }
        return ONNXModelFile(path: path, folder: folder(of: path), file: file, model: model, rawData: rawData)
    }

    /// The folder holding `path`, as a path usable for joining.
    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let folder = path[..<slash]
        return folder.isEmpty ? "/" : String(folder)
    }

    /// Whether the file starts as ONNX files do: field 1 (ir_version) as a varint.
    ///
    /// Only a hint for picking a reader when the file name does not say; protobuf has no magic.
    public static func looksLikeONNX(_ file: MappedFile) -> Bool {
        guard let head = try? file.bytes(in: 0..<2) else { return false }
        return head[0] == 0x08 && head[1] < 0x80 && head[1] > 0
    }
}
