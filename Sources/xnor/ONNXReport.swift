import Formats
import Graph

/// `inspect` and `dump` of .onnx files, which come with a graph rather than a flat tensor
/// list, so they go through the ONNX importer instead of `ModelOpener`.
enum ONNXReport {
    /// What `inspect` prints for an ONNX model.
    static func inspect(_ file: ONNXModelFile, json: Bool) throws -> String {
        let (graph, model) = try ONNXImporter.load(file)
        return json ? JSONWriter().string(Self.json(graph, model)) + "\n" : text(graph, model)
    }

    static func json(_ graph: Graph, _ model: ONNXModelInfo) -> JSONValue {
        var metadata: [(String, JSONValue)] = [
            ("producer_name", .string(model.producerName)),
            ("producer_version", .string(model.producerVersion)),
            ("ir_version", model.irVersion.map { .int($0) } ?? .null),
            ("domain", .string(model.domain)),
            ("model_version", model.modelVersion.map { .int($0) } ?? .null),
            ("doc_string", .string(model.docString)),
            ("opset_import", .object(model.opsetImports.map { ($0.domain, .int($0.version)) })),
            ("metadata_props", .object(model.metadataProps.map { ($0.key, .string($0.value)) })),
        ]
        if !model.functions.isEmpty { metadata.append(("functions", .array(model.functions.map { .string($0) }))) }
        let tensors: [JSONValue] = graph.initializers.map { tensor in
            var members: [(String, JSONValue)] = [
                ("name", .string(tensor.name)),
                ("dtype", .string(tensor.elementType.rawValue)),
                ("shape", .array(tensor.shape.map { .int(Int64($0)) })),
            ]
            switch model.source(ofTensor: tensor.name) {
            case .rawData(let offset):
                members.append(("offset", .int(Int64(offset))))
            case .external(let location, let offset):
                members.append(("offset", .int(Int64(offset))))
                members.append(("file", .string(location)))
            case .typedField, .embeddedRawData, nil:
                members.append(("offset", .null))
            }
            members.append(("nbytes", .int(Int64(tensor.byteCount))))
            return .object(members)
        }
        return .object([
            ("format", .string("onnx")),
            ("path", .string(model.path)),
            ("metadata", .object(metadata)),
            ("tensors", .array(tensors)),
            ("graph", graph.json()),
        ])
    }

    static func text(_ graph: Graph, _ model: ONNXModelInfo) -> String {
        var out = "path: \(model.path)\n"
        out += "format: ONNX" + (model.irVersion.map { ", IR version \($0)" } ?? "") + "\n"
        let producer = [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        out += "producer: \(producer.isEmpty ? "(not set)" : producer)\n"
        out += "opsets: " + model.opsetImports.map { "\($0.domain.isEmpty ? "ai.onnx" : $0.domain) \($0.version)" }
            .joined(separator: ", ") + "\n"
        if !model.metadataProps.isEmpty {
            out += "metadata_props (\(model.metadataProps.count) keys):\n"
            out += InspectReport.table(model.metadataProps.map { ["  " + $0.key, InspectReport.short(.string($0.value))] })
        }
        if !model.functions.isEmpty { out += "functions: " + model.functions.joined(separator: ", ") + "\n" }

        func values(_ title: String, _ list: [ValueInfo]) {
            out += "\(title) (\(list.count)):\n"
            out += InspectReport.table(list.map { value in
                ["  " + value.name, value.elementType?.rawValue ?? "?",
                 value.shape.map { "[" + $0.map(\.description).joined(separator: ", ") + "]" } ?? "(rank unknown)"]
            })
        }
        values("inputs", graph.inputs)
        values("outputs", graph.outputs)

        var opCounts: [(op: String, count: Int)] = []
        for node in graph.nodes {
            let op = node.domain.isEmpty ? node.opType : "\(node.domain).\(node.opType)"
            if let i = opCounts.firstIndex(where: { $0.op == op }) { opCounts[i].count += 1 } else { opCounts.append((op, 1)) }
        }
        out += "nodes: \(graph.nodes.count) (\(opCounts.count) op type\(opCounts.count == 1 ? "" : "s"))\n"
        out += InspectReport.table(opCounts.sorted { $0.count != $1.count ? $0.count > $1.count : $0.op < $1.op }
            .map { ["  " + $0.op, String($0.count)] })

        let parameters = graph.initializers.reduce(0) { $0 + $1.elementCount }
        let bytes = graph.initializers.reduce(0) { $0 + $1.byteCount }
        out += "initializers: \(graph.initializers.count), parameters: \(Units.count(parameters)) (\(parameters)), bytes: \(Units.bytes(bytes)) (\(bytes))\n"
        out += InspectReport.table(graph.initializers.map { tensor in
            var row = ["  " + tensor.name, tensor.elementType.rawValue,
                       "[" + tensor.shape.map(String.init).joined(separator: ", ") + "]", Units.bytes(tensor.byteCount)]
            switch model.source(ofTensor: tensor.name) {
            case .external(let location, let offset): row.append("external: \(location) @ \(offset)")
            case .typedField(let field): row.append(field)
            default: break
            }
            return row
        })
        return out
    }

    /// The initializer named `name` as float32, for `dump`.
    static func dump(_ file: ONNXModelFile, tensor name: String, to outputs: [OutputSet.Output], replace: Bool) throws {
        let path = file.path
        let (graph, info) = try ONNXImporter.load(file)
        let set = try OutputSet(outputs, inputs: SourceModel.files(of: info).map(\.path), replace: replace)
        guard let tensor = graph.initializer(named: name) else {
            throw FormatError(path: path, location: .field("tensor '\(name)'"),
                              "no such initializer (the graph has \(graph.initializers.count); `xnor inspect` lists them)")
        }
        let values: [Float]
        do {
            values = try tensor.floatValues()
        } catch let error as FormatError {
            throw error
        } catch {
            throw FormatError(path: path, location: .field("tensor '\(name)'"), "\(error)")
        }
        for output in outputs { try NpyWriter.write(float32: values, shape: tensor.shape, into: try set.writer(for: output.path)) }
        try set.commit()
    }
}
