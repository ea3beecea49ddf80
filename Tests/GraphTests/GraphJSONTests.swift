import Formats
import Graph
import Tensors
import Testing

/// The JSON form round-trips exactly: graph → JSON text → graph → the same text, with float
/// attributes bit-exact.
@Suite struct GraphJSONTests {
    func roundTrip(_ graph: Graph, indent: Int? = 2) throws -> (text: String, again: String, graph: Graph) {
        let writer = JSONWriter(indent: indent)
        let text = writer.string(graph.json())
        let rebuilt = try Graph(json: JSONParser.parse(text), tensors: { graph.initializer(named: $0) })
        return (text, writer.string(rebuilt.json()), rebuilt)
    }

    @Test(arguments: ONNXFixtures.validModels)
    func everyFixtureGraphRoundTrips(_ model: String) throws {
        let (graph, _) = try ONNXFixtures.load(model)
        for indent in [2, nil] as [Int?] {
            let (text, again, rebuilt) = try roundTrip(graph, indent: indent)
            #expect(text == again)
            #expect(rebuilt.nodes.count == graph.nodes.count)
            try expectSameAttributes(graph, rebuilt)
            for (a, b) in zip(graph.initializers, rebuilt.initializers) {
                #expect(try tensorBytes(a) == tensorBytes(b))
            }
            try rebuilt.validate()
        }
    }

    /// FuzzONNX found an opset domain holding NUL bytes, which the json-c parser cut at the NUL
    /// in object keys: every string, keys included, must come back whole.
    @Test func stringsWithNULAndControlBytesRoundTrip() throws {
        let odd = "a\u{0}\u{1}\u{0}b\u{1B}[2J"
        var graph = Graph(name: odd, opsets: ["": 17, odd: 1])
        graph.inputs = [ValueInfo(name: odd, elementType: .f32, shape: [.fixed(2)])]
        graph.outputs = [ValueInfo(name: "y", elementType: .f32, shape: [.fixed(2)])]
        graph.nodes = [Node(name: odd, opType: "Identity", inputs: [odd], outputs: ["y"])]
        for indent in [2, nil] as [Int?] {
            let (text, again, rebuilt) = try roundTrip(graph, indent: indent)
            #expect(text == again)
            #expect(rebuilt.opsets == graph.opsets)
            #expect(rebuilt.name == odd && rebuilt.nodes.first?.name == odd && rebuilt.inputs.first?.name == odd)
        }
    }

    /// Attribute values compared directly (floats by bit pattern), subgraphs included.
    func expectSameAttributes(_ a: Graph, _ b: Graph) throws {
        for (x, y) in zip(a.nodes, b.nodes) {
            #expect(x.attributes.map(\.name) == y.attributes.map(\.name))
            for ((name, u), (_, v)) in zip(x.attributes, y.attributes) {
                switch (u, v) {
                case (.float(let p), .float(let q)): #expect(p.bitPattern == q.bitPattern || (p.isNaN && q.isNaN), "\(name)")
                case (.floats(let p), .floats(let q)): #expect(sameFloatBits(p, q), "\(name)")
                case (.int(let p), .int(let q)): #expect(p == q)
                case (.ints(let p), .ints(let q)): #expect(p == q)
                case (.string(let p), .string(let q)): #expect(p == q)
                case (.strings(let p), .strings(let q)): #expect(p == q)
                case (.tensor(let p), .tensor(let q)):
                    #expect(p.name == q.name && p.elementType == q.elementType && p.shape == q.shape)
                    #expect(try tensorBytes(p) == tensorBytes(q))
                case (.graph(let p), .graph(let q)):
                    try expectSameAttributes(p, q)
                    #expect(p.initializers.count == q.initializers.count)
                    for (s, t) in zip(p.initializers, q.initializers) { #expect(try tensorBytes(s) == tensorBytes(t)) }
                default: Issue.record("attribute \(name) changed kind: \(u) -> \(v)")
                }
            }
        }
    }

    @Test func specialFloatsRoundTripBitExact() throws {
        let floats: [Float] = [0.1, -0.0, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
                               1.0 / 3.0, 16_777_216, 0x1p-149, -.infinity, .infinity, .nan, 3.4028235e38, 1]
        let graph = Graph(name: "g", inputs: [ValueInfo(name: "x")], outputs: [ValueInfo(name: "y")],
                          nodes: [Node(name: "n", opType: "Op", domain: "test", inputs: ["x"], outputs: ["y"],
                                       attributes: floats.enumerated().map { ("f\($0)", .float($1)) } + [("all", .floats(floats))])])
        let (text, again, rebuilt) = try roundTrip(graph)
        #expect(text == again)
        try expectSameAttributes(graph, rebuilt)
    }

    /// The writer prints float32's shortest digits and the parser reads them as a double;
    /// rounding that double to float32 must give back the same float, for every exponent.
    @Test func float32ShortestDigitsSurviveTheDoubleParse() throws {
        var generator = SystemRandomNumberGenerator()
        var bits: [UInt32] = (0..<200_000).map { _ in UInt32.random(in: 0...UInt32.max, using: &generator) }
        // Every exponent with mantissas at the edges, where rounding is tightest.
        for exponent in UInt32(0)...254 {
            for mantissa: UInt32 in [0, 1, 2, 0x3FFFFF, 0x400000, 0x7FFFFE, 0x7FFFFF] { bits.append(exponent << 23 | mantissa) }
        }
        let values = bits.map { Float(bitPattern: $0 & 0x7FFF_FFFF) }.filter(\.isFinite)
        let text = JSONWriter(indent: nil).string(.array(values.map { .float($0) }))
        let parsed = try JSONParser.parse(text)
        let back = try #require(parsed.arrayValue)
        var mismatches = 0
        for (value, json) in zip(values, back) {
            guard case .double(let d) = json, Float(d).bitPattern == value.bitPattern else {
                mismatches += 1
                continue
            }
        }
        #expect(back.count == values.count)
        #expect(mismatches == 0)
    }

    @Test func initializerDataComesFromTheLoader() throws {
        let weight = ConstantTensor(name: "w", elementType: .f32, shape: [2], storage: .owned([0, 0, 128, 63, 0, 0, 0, 64]))
        let graph = Graph(name: "g", inputs: [ValueInfo(name: "x", elementType: .f32, shape: [.symbolic("n"), .unknown, .fixed(2)])],
                          outputs: [ValueInfo(name: "y", elementType: nil, shape: nil)], initializers: [weight],
                          nodes: [Node(name: "", opType: "Mul", inputs: ["x", "w"], outputs: ["y"])], opsets: ["": 17, "xnorkit": 1])
        let json = graph.json()
        #expect(json["initializers"]?.arrayValue?.first?["data"] == nil, "main-graph weights stay out of the JSON")
        let text = JSONWriter().string(json)
        #expect(text.contains("\"shape\": [\"n\", null, 2]"))

        let rebuilt = try Graph(json: json, tensors: { $0 == "w" ? weight : nil })
        #expect(try rebuilt.initializers.first?.floatValues() == [1, 2])
        #expect(rebuilt.inputs == graph.inputs && rebuilt.outputs == graph.outputs && rebuilt.opsets == graph.opsets)

        #expect(throws: GraphError.self) { try Graph(json: json, tensors: { _ in nil }) }
        let wrongShape = ConstantTensor(name: "w", elementType: .f32, shape: [1, 2], storage: .owned(Array(repeating: 0, count: 8)))
        #expect(throws: GraphError.self) { try Graph(json: json, tensors: { _ in wrongShape }) }
    }

    /// A JSON form that does not describe a graph names the field that is wrong.
    @Test(arguments: [
        (#"{"name": "g"}"#, "graph: missing \"opsets\""),
        (#"{"name": "g", "opsets": {}, "inputs": [], "outputs": [], "value_info": [], "initializers": [], "nodes": [{"name": "n"}]}"#,
         "graph.nodes[0]: missing \"op_type\""),
        (#"{"name": "g", "opsets": {}, "inputs": [{"name": "x", "dtype": "F33", "shape": null}], "outputs": [], "value_info": [], "initializers": [], "nodes": []}"#,
         "graph.inputs[0].dtype: unknown dtype 'F33'"),
        (#"{"name": "g", "opsets": {}, "inputs": [], "outputs": [], "value_info": [], "initializers": [], "nodes": [{"name": "n", "op_type": "C", "domain": "", "inputs": [], "outputs": ["c"], "attributes": [{"name": "value", "type": "tensor", "value": {"name": "t", "dtype": "F32", "shape": [2], "data": "AAAAAA=="}}]}]}"#,
         "graph.nodes[0].attributes[0].value.data: 4 bytes, but shape [2] of F32 needs 8"),
        (#"{"name": "g", "opsets": {}, "inputs": [], "outputs": [], "value_info": [], "initializers": [], "nodes": [{"name": "n", "op_type": "C", "domain": "", "inputs": [], "outputs": ["c"], "attributes": [{"name": "value", "type": "tensor", "value": {"name": "t", "dtype": "F32", "shape": [1], "data": "AA!A"}}]}]}"#,
         "graph.nodes[0].attributes[0].value.data: not a base64 string"),
        (#"{"name": "g", "opsets": {}, "inputs": [], "outputs": [], "value_info": [], "initializers": [], "nodes": [{"name": "n", "op_type": "C", "domain": "", "inputs": [], "outputs": ["c"], "attributes": [{"name": "a", "type": "sparse", "value": 1}]}]}"#,
         "graph.nodes[0].attributes[0].value: unknown attribute type 'sparse'"),
        (#"{"name": "g", "opsets": {}, "inputs": [], "outputs": [], "value_info": [], "initializers": [{"name": "w", "dtype": "F32", "shape": [4294967296, 4294967296]}], "nodes": []}"#,
         "graph.initializers[0].shape"),
    ])
    func malformedJSONNamesTheField(_ text: String, _ message: String) throws {
        do {
            _ = try Graph(json: JSONParser.parse(text), tensors: { _ in nil })
            Issue.record("accepted: \(text)")
        } catch let error as GraphError {
            #expect(error.description.hasPrefix(message), "\(error)")
        }
    }

    /// RFC 4648 section 10 test vectors, through the tensor data path.
    @Test(arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                      ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")])
    func tensorDataIsBase64(_ plain: String, _ encoded: String) throws {
        let bytes = Array(plain.utf8)
        let tensor = ConstantTensor(name: "t", elementType: .u8, shape: [bytes.count], storage: .owned(bytes))
        let graph = Graph(nodes: [Node(name: "c", opType: "Constant", inputs: [], outputs: ["c"], attributes: [("value", .tensor(tensor))])])
        let json = graph.json()
        let value = json["nodes"]?.arrayValue?.first?["attributes"]?.arrayValue?.first?["value"]
        #expect(value?["data"] == .string(encoded))
        let rebuilt = try Graph(json: json, tensors: { _ in nil })
        guard case .tensor(let back)? = rebuilt.nodes.first?.attribute("value") else {
            Issue.record("no tensor attribute")
            return
        }
        #expect(try tensorBytes(back) == bytes)
    }

    @Test func nonCanonicalBase64IsRefused() throws {
        // "Zh==" decodes to "f" with nonzero padding bits: not what any encoder writes.
        let text = #"{"name": "g", "opsets": {}, "inputs": [], "outputs": [], "value_info": [], "initializers": [], "nodes": [{"name": "n", "op_type": "C", "domain": "", "inputs": [], "outputs": ["c"], "attributes": [{"name": "value", "type": "tensor", "value": {"name": "t", "dtype": "U8", "shape": [1], "data": "Zh=="}}]}]}"#
        #expect(throws: GraphError.self) { try Graph(json: JSONParser.parse(text), tensors: { _ in nil }) }
    }
}
