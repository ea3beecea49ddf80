import Foundation
import Testing
import Formats
import Tensors

private typealias Scratch = ReaderTestSupport.Scratch

@Suite struct HuggingFaceFolderTests {
    /// fixtures/hf/tiny-llama/model.safetensors.index.json's weight_map, written out here.
    static let tinyLlamaShards: [String: String] = {
        let first = "model-00001-of-00002.safetensors", second = "model-00002-of-00002.safetensors"
        var map: [String: String] = ["model.embed_tokens.weight": first, "lm_head.weight": second, "model.norm.weight": second]
        for (layer, shard) in [(0, first), (1, second)] {
            for part in ["input_layernorm", "post_attention_layernorm", "mlp.down_proj", "mlp.gate_proj", "mlp.up_proj",
                         "self_attn.k_proj", "self_attn.o_proj", "self_attn.q_proj", "self_attn.v_proj"] {
                map["model.layers.\(layer).\(part).weight"] = shard
            }
        }
        return map
    }()

    /// Shapes that follow from tiny-llama's config.json and the Llama layout: hidden 64,
    /// intermediate 128, 2 KV heads of 16, vocab 256; F16 weights, F32 norms.
    static func tinyLlamaShape(_ name: String) -> (ScalarType, [Int]) {
        if name.hasSuffix("norm.weight") { return (.f32, [64]) }
        if name.contains("embed_tokens") || name.hasPrefix("lm_head") { return (.f16, [256, 64]) }
        if name.contains("k_proj") || name.contains("v_proj") { return (.f16, [32, 64]) }
        if name.contains("q_proj") || name.contains("o_proj") { return (.f16, [64, 64]) }
        if name.contains("down_proj") { return (.f16, [64, 128]) }
        return (.f16, [128, 64])  // gate_proj, up_proj
    }

    @Test func readsTheShardsTheIndexLists() throws {
        let folder = ReaderTestSupport.fixture("hf/tiny-llama")
        let model = try HuggingFaceFolder.read(folder)
        #expect(model.format == .huggingFaceFolder)
        #expect(model.tensors.count == 21)
        #expect(Set(model.tensors.map(\.name)) == Set(Self.tinyLlamaShards.keys))
        for tensor in model.tensors {
            #expect(HuggingFaceFolder.shardName(of: tensor) == Self.tinyLlamaShards[tensor.name], "\(tensor.name)")
            let (dtype, shape) = Self.tinyLlamaShape(tensor.name)
            #expect(tensor.type == .scalar(dtype), "\(tensor.name)")
            #expect(tensor.shape == shape, "\(tensor.name)")
        }
        // Both shards' __metadata__ keys are kept, and the config and index metadata come along.
        let keys = Set(model.metadata.map(\.key))
        #expect(keys.isSuperset(of: ["fixture.shard1", "fixture.shard2", "format"]))
        let extra = Dictionary(uniqueKeysWithValues: model.extra.map { ($0.0, $0.1) })
        #expect(extra["config"]?["hidden_size"] == .int(64))
        #expect(extra["index_metadata"]?["total_size"] == .int(214_272))
    }

    @Test func valuesMatchTheSafetensorsLibrary() throws {
        let folder = ReaderTestSupport.fixture("hf/tiny-llama")
        // safetensors + numpy are the oracle: each tensor as float32, as hex of its bytes.
        let script = """
        import glob, json, sys
        import numpy as np
        from safetensors.numpy import load_file
        out = {}
        for shard in sorted(glob.glob(sys.argv[1] + "/*.safetensors")):
            for name, array in load_file(shard).items():
                out[name] = array.astype("<f4").tobytes().hex()
        print(json.dumps(out))
        """
        guard let output = try ReaderTestSupport.python(script, [folder]) else { return }
        let expected = try JSONParser.parse(output)
        let model = try HuggingFaceFolder.read(folder)
        #expect(expected.objectValue?.count == 21)
        for tensor in model.tensors {
            let hex = try #require(expected[tensor.name]?.stringValue, "\(tensor.name) missing from the oracle")
            let ours = try tensor.floatValues().withUnsafeBytes { Self.hex($0) }
            #expect(ours == hex, "\(tensor.name)")
        }
    }

    static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    @Test func singleFileFolder() throws {
        let model = try HuggingFaceFolder.read(ReaderTestSupport.fixture("hf/tiny-single"))
        #expect(model.tensors.count == 11)
        #expect(model.tensor(named: "model.embed_tokens.weight")?.shape == [128, 32])
        #expect(model.tensors.allSatisfy { HuggingFaceFolder.shardName(of: $0) == "model.safetensors" })
    }

    // MARK: Folders built in the test

    /// One U8 tensor per name, as a safetensors file.
    static func shard(_ names: [String]) -> [UInt8] {
        let entries = names.enumerated().map { #""\#($0.element)": {"dtype": "U8", "shape": [1], "data_offsets": [\#($0.offset), \#($0.offset + 1)]}"# }
        return ReaderTestSupport.safetensors(header: "{" + entries.joined(separator: ", ") + "}", data: names.indices.map { UInt8($0) })
    }

    static func index(_ map: [(String, String)]) -> [UInt8] {
        let entries = map.map { #""\#($0.0)": "\#($0.1)""# }
        return Array(#"{"metadata": {}, "weight_map": {\#(entries.joined(separator: ", "))}}"#.utf8)
    }

    /// A folder with config.json, the shards given, and an index.
    private func folder(shards: [String: [String]], index map: [(String, String)]) throws -> Scratch {
        let scratch = try Scratch()
        try scratch.write(Array(#"{"model_type": "llama"}"#.utf8), to: "config.json")
        for (name, tensors) in shards { try scratch.write(Self.shard(tensors), to: name) }
        try scratch.write(Self.index(map), to: HuggingFaceFolder.indexName)
        return scratch
    }

    @Test func shardNamesThatLeaveTheFolderAreRefused() throws {
        for escaping in ["../outside.safetensors", "/etc/hostname", "sub/model.safetensors", "..", ".", "", "./model.safetensors"] {
            let scratch = try folder(shards: ["a.safetensors": ["w"]], index: [("w", "a.safetensors"), ("v", escaping)])
            // A real file where the escaping path points, so only the name check can stop it.
            try FileManager.default.createDirectory(atPath: scratch.file("sub"), withIntermediateDirectories: true)
            try scratch.write(Self.shard(["v"]), to: "sub/model.safetensors")
            let error = #expect(throws: FormatError.self, "\(escaping)") { try HuggingFaceFolder.read(scratch.path) }
            #expect(error?.location == .field("weight_map.v"), "\(escaping)")
            #expect(error?.description.contains("outside the folder") == true, "\(escaping): \(error?.description ?? "")")
        }
    }

    @Test func symlinkedShardsAreFollowed() throws {
        // The Hugging Face cache links snapshot files to blobs elsewhere.
        let blobs = try Scratch()
        try blobs.write(Self.shard(["w", "b"]), to: "blob")
        let scratch = try folder(shards: [:], index: [("w", "m.safetensors"), ("b", "m.safetensors")])
        try FileManager.default.createSymbolicLink(atPath: scratch.file("m.safetensors"), withDestinationPath: blobs.file("blob"))
        let model = try HuggingFaceFolder.read(scratch.path)
        #expect(Set(model.tensors.map(\.name)) == ["w", "b"])
    }

    @Test func tensorMissingFromItsShardIsRefused() throws {
        let scratch = try folder(shards: ["a.safetensors": ["w"]], index: [("w", "a.safetensors"), ("ghost", "a.safetensors")])
        let error = #expect(throws: FormatError.self) { try HuggingFaceFolder.read(scratch.path) }
        #expect(error?.location == .field("weight_map.ghost"))
        #expect(error?.description.contains("not found") == true)
    }

    @Test func tensorInAnotherShardThanListedIsRefused() throws {
        let scratch = try folder(shards: ["a.safetensors": ["w"], "b.safetensors": ["v"]], index: [("w", "b.safetensors"), ("v", "b.safetensors")])
        let error = #expect(throws: FormatError.self) { try HuggingFaceFolder.read(scratch.path) }
        #expect(error?.location == .field("weight_map.w"))
    }

    @Test func tensorStoredInTwoShardsIsRefused() throws {
        let scratch = try folder(shards: ["a.safetensors": ["w"], "b.safetensors": ["w"]], index: [("w", "a.safetensors"), ("x", "b.safetensors")])
        let error = #expect(throws: FormatError.self) { try HuggingFaceFolder.read(scratch.path) }
        #expect(error?.description.contains("also stored in shard") == true)
    }

    @Test func missingShardIsRefused() throws {
        let scratch = try folder(shards: [:], index: [("w", "gone.safetensors")])
        let error = #expect(throws: FormatError.self) { try HuggingFaceFolder.read(scratch.path) }
        #expect(error?.description.contains("'gone.safetensors' not found") == true)
    }

    @Test func brokenShardIsNamedInTheError() throws {
        let scratch = try folder(shards: [:], index: [("w", "bad.safetensors")])
        try scratch.write([1, 2, 3], to: "bad.safetensors")
        let error = #expect(throws: FormatError.self) { try HuggingFaceFolder.read(scratch.path) }
        #expect(error?.path == scratch.file("bad.safetensors"))
    }

    @Test func folderWithoutConfigOrWeightsIsRefused() throws {
        let empty = try Scratch()
        #expect(#expect(throws: FormatError.self) { try HuggingFaceFolder.read(empty.path) }?.description.contains("config.json") == true)
        try empty.write(Array("{}".utf8), to: "config.json")
        #expect(#expect(throws: FormatError.self) { try HuggingFaceFolder.read(empty.path) }?.description.contains("model.safetensors") == true)
        try empty.write(Array("[1]".utf8), to: "config.json")
        #expect(#expect(throws: FormatError.self) { try HuggingFaceFolder.read(empty.path) }?.description.contains("JSON object") == true)
    }

    @Test func indexThatIsNotJSONOrHasNoWeightMapIsRefused() throws {
        let scratch = try folder(shards: [:], index: [])
        try scratch.write(Array(#"{"weight_map": "#.utf8), to: HuggingFaceFolder.indexName)
        let notJSON = #expect(throws: FormatError.self) { try HuggingFaceFolder.read(scratch.path) }
        #expect(notJSON?.path == scratch.file(HuggingFaceFolder.indexName))
        try scratch.write(Array(#"{"metadata": {}}"#.utf8), to: HuggingFaceFolder.indexName)
        let noMap = #expect(throws: FormatError.self) { try HuggingFaceFolder.read(scratch.path) }
        #expect(noMap?.location == .field("weight_map"))
        try scratch.write(Array(#"{"weight_map": {"w": 3}}"#.utf8), to: HuggingFaceFolder.indexName)
        let notString = #expect(throws: FormatError.self) { try HuggingFaceFolder.read(scratch.path) }
        #expect(notString?.location == .field("weight_map.w"))
    }
}
