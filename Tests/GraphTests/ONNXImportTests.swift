import Formats
import Graph
import Tensors
import Testing

/// The imported graphs against what the onnx package reads from the same files.
@Suite struct ONNXImportTests {
    @Test func expectedListsEveryValidModel() throws {
        let members = try #require(try ONNXFixtures.json(ONNXFixtures.importFolder + "/EXPECTED.json").objectValue)
        #expect(members.map(\.0).sorted() == ONNXFixtures.validModels)
    }

    /// Every initializer's dtype, shape and element bits (numpy_helper.to_array viewed as
    /// unsigned integers), its float32 values (what dump writes), and where its bytes are.
    @Test(arguments: ONNXFixtures.validModels)
    func initializersMatchNumpyHelper(_ model: String) throws {
        let expected = try ONNXFixtures.expected(model)
        let (graph, info) = try ONNXFixtures.load(model)
        let initializers = expected["initializers"]?.items ?? []
        #expect(graph.initializers.count == initializers.count)
        for (tensor, want) in zip(graph.initializers, initializers) {
            let name = want["name"]?.stringValue ?? "?"
            #expect(tensor.name == name)
            #expect(tensor.elementType.rawValue == want["dtype"]?.stringValue, "\(name)")
            #expect(tensor.shape.map(Int64.init) == want["shape"]?.items.compactMap(\.int64), "\(name)")
            #expect(Int64(tensor.byteCount) == want["nbytes"]?.int64, "\(name)")

            let bits = try NpyReader.read(ONNXFixtures.importFolder + "/" + (want["bits"]?.stringValue ?? ""))
            #expect(bits.shape == tensor.shape, "\(name)")
            #expect(try tensorBytes(tensor) == bits.data, "\(name): element bytes differ from numpy_helper.to_array")
            let floats = try NpyReader.read(ONNXFixtures.importFolder + "/" + (want["float32"]?.stringValue ?? "")).floatValues()
            #expect(sameFloatBits(try tensor.floatValues(), floats), "\(name): float32 values differ")

            let source = info.source(ofTensor: name)
            switch (want["file"], want["offset"]) {
            case (.string(let file)?, let offset?):
                #expect(source == .external(location: file, offset: Int(offset.int64 ?? -1)), "\(name)")
            case (_, .int(let offset)?):
                #expect(source == .rawData(offset: Int(offset)), "\(name)")
            default:
                break  // typed fields, or raw bytes that occur twice in the file (no offset oracle)
            }
        }
    }

    @Test(arguments: ONNXFixtures.validModels)
    func metadataMatchesOnnx(_ model: String) throws {
        let expected = try ONNXFixtures.expected(model)
        let (graph, info) = try ONNXFixtures.load(model)
        #expect(info.producerName == expected["producer_name"]?.stringValue)
        #expect(info.producerVersion == expected["producer_version"]?.stringValue)
        #expect(info.irVersion == expected["ir_version"]?.int64)
        #expect(graph.name == expected["graph_name"]?.stringValue)
        let opsets = expected["opsets"]?.items ?? []
        #expect(info.opsetImports.map(\.domain) == opsets.compactMap { $0["domain"]?.stringValue })
        #expect(info.opsetImports.map(\.version) == opsets.compactMap { $0["version"]?.int64 })
        for opset in opsets {
            let domain = opset["domain"]?.stringValue ?? "?"
            #expect(graph.opsets[domain == "ai.onnx" ? "" : domain].map(Int64.init) == opset["version"]?.int64)
        }
        let props = expected["metadata_props"]?.objectValue ?? []
        #expect(info.metadataProps.map(\.key) == props.map(\.0))
        #expect(info.metadataProps.map { JSONValue.string($0.value) } == props.map(\.1))
    }

    /// Graph inputs (initializers excluded), outputs and value_info with element types and
    /// shapes: fixed dims, symbolic dims by name, unknown dims, unknown rank.
    @Test(arguments: ONNXFixtures.validModels)
    func valuesMatchOnnx(_ model: String) throws {
        let expected = try ONNXFixtures.expected(model)
        let (graph, _) = try ONNXFixtures.load(model)
        for (key, values) in [("inputs", graph.inputs), ("outputs", graph.outputs), ("value_info", graph.valueInfo)] {
            let want = expected[key]?.items ?? []
            #expect(values.map(\.name) == want.compactMap { $0["name"]?.stringValue }, "\(key)")
            for (value, w) in zip(values, want) {
                #expect(value.elementType?.rawValue == w["dtype"]?.stringValue, "\(key) \(value.name)")
                let shape: [JSONValue]? = value.shape?.map { dim in
                    switch dim {
                    case .fixed(let n): .int(Int64(n))
                    case .symbolic(let s): .string(s)
                    case .unknown: .null
                    }
                }
                #expect(shape.map { JSONValue.array($0) } ?? .null == w["shape"], "\(key) \(value.name)")
            }
        }
    }

    /// Nodes in order with op type, domain, inputs (omitted optional ones kept as ""),
    /// outputs, and every attribute's value: floats compared as float32 bits.
    @Test(arguments: ONNXFixtures.validModels)
    func nodesMatchOnnx(_ model: String) throws {
        let expected = try ONNXFixtures.expected(model)
        let (graph, _) = try ONNXFixtures.load(model)
        let nodes = expected["nodes"]?.items ?? []
        #expect(graph.nodes.count == nodes.count)
        for (node, want) in zip(graph.nodes, nodes) {
            let domain = want["domain"]?.stringValue ?? "?"
            #expect(node.name == want["name"]?.stringValue)
            #expect(node.opType == want["op_type"]?.stringValue)
            #expect(node.domain == (domain == "ai.onnx" ? "" : domain))
            #expect(node.inputs == want["inputs"]?.items.compactMap(\.stringValue))
            #expect(node.outputs == want["outputs"]?.items.compactMap(\.stringValue))
            let attributes = want["attributes"]?.items ?? []
            #expect(node.attributes.map(\.name) == attributes.compactMap { $0["name"]?.stringValue })
            for ((name, value), w) in zip(node.attributes, attributes) {
                try checkAttribute(value, w, "\(node.displayName).\(name)")
            }
        }
    }

    func checkAttribute(_ value: AttributeValue, _ want: JSONValue, _ what: Comment) throws {
        switch (value, want["type"]?.stringValue) {
        case (.float(let f), "float"):
            #expect(Int64(f.bitPattern) == want["f32bits"]?.int64, what)
        case (.floats(let list), "floats"):
            #expect(list.map { Int64($0.bitPattern) } == want["f32bits"]?.items.compactMap(\.int64), what)
        case (.int(let i), "int"):
            #expect(i == want["value"]?.int64, what)
        case (.ints(let list), "ints"):
            #expect(list == want["value"]?.items.compactMap(\.int64), what)
        case (.string(let s), "string"):
            #expect(s == want["value"]?.stringValue, what)
        case (.strings(let list), "strings"):
            #expect(list == want["value"]?.items.compactMap(\.stringValue), what)
        case (.tensor(let t), "tensor"):
            #expect(t.elementType.rawValue == want["dtype"]?.stringValue, what)
            #expect(t.shape.map(Int64.init) == want["shape"]?.items.compactMap(\.int64), what)
            let hex = try tensorBytes(t).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            #expect(hex == want["hex"]?.stringValue, what)
        case (.graph(let g), "graph"):
            #expect(g.name == want["name"]?.stringValue, what)
            #expect(g.nodes.map(\.name) == want["nodes"]?.items.compactMap(\.stringValue), what)
            #expect(g.initializers.map(\.name) == want["initializers"]?.items.compactMap(\.stringValue), what)
        default:
            Issue.record("\(what): \(value) where onnx has \(want)")
        }
    }

    /// Weights are views into the mapped files, not copies: in-file raw_data into the .onnx,
    /// external data into one shared mapping of the data file.
    @Test func weightsAreViewsIntoTheMappedFiles() throws {
        let (mlp, _) = try ONNXFixtures.load("mlp_raw.onnx")
        for tensor in mlp.initializers where tensor.byteCount > 0 {
            guard case .mapped(let file, _, _) = tensor.storage else {
                Issue.record("\(tensor.name) was copied")
                continue
            }
            #expect(file.path.hasSuffix("mlp_raw.onnx"))
        }
        let (external, _) = try ONNXFixtures.load("external.onnx")
        var files: [MappedFile] = []
        for tensor in external.initializers where tensor.name.hasPrefix("ext_") {
            guard case .mapped(let file, _, _) = tensor.storage else {
                Issue.record("\(tensor.name) was copied")
                continue
            }
            #expect(file.path.hasSuffix("external.data"))
            files.append(file)
        }
        #expect(files.count == 4)
        #expect(files.allSatisfy { $0 === files[0] }, "one mapping per external file")
    }

    /// A subgraph keeps its own initializers and names the outer value it reads.
    @Test func subgraphsKeepTheirInitializersAndOuterReferences() throws {
        let (graph, _) = try ONNXFixtures.load("attributes.onnx")
        let branch = try #require(graph.nodes.first { $0.opType == "If" })
        guard case .graph(let thenBranch) = branch.attribute("then_branch") else {
            Issue.record("then_branch is not a graph")
            return
        }
        #expect(thenBranch.nodes.first?.inputs == ["y", "then_offset"])
        let offset = try #require(thenBranch.initializer(named: "then_offset"))
        #expect(try offset.floatValues() == [1, 2, 3])
    }

    @Test func initializerListedAsInputIsNotAnInput() throws {
        let (graph, _) = try ONNXFixtures.load("mlp_raw.onnx")
        #expect(graph.inputs.map(\.name) == ["x"])
        #expect(graph.initializer(named: "W1") != nil)
    }
}
