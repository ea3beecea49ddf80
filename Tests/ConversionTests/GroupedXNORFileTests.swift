import Tensors
import Testing
import TestSupport
import BitPacking
import Conversion
import XNORLoader
import Formats
import Graph
#if canImport(Glibc)
import Glibc
#endif

/// The grouped weight formats in .xnor files: recorded per node (`weight_format`), written
/// and loaded back with the same planes, float16 scales and offsets; calibrated codes packed
/// as given; bad files refused with one line naming the file and what is wrong.
struct GroupedXNORFileTests {
    let model = fixturePath("onnx/models/gemm_tA1_tB1/model.onnx")

    func scratch(_ name: String) -> String { scratchFile(name, suite: "grouped") }

    func rewritten(_ format: WeightFormat, mode: ConversionMode = .w1a8) throws -> Graph {
        let (graph, _) = try ONNXImporter.load(path: model)
        var pass = XNORRewritePass(mode: mode)
        pass.weightFormat = format
        return pass.run(graph).graph
    }

    /// Writes `graph` packed, after `edit` changes its XNORPopcountGemm node's attributes.
    func write(_ packed: PackedGraph, _ name: String, edit: ((inout Node) -> Void)? = nil) throws -> String {
        var packed = packed
        if let edit, let index = packed.graph.nodes.firstIndex(where: XNORPopcountGemmNode.isXNOR) {
            edit(&packed.graph.nodes[index])
        }
        let path = scratch(name)
        try XNORModelFile.write(packed, name: "t", mode: .w1a8, source: XNORSource(format: "onnx", files: []), to: path, replace: false)
        return path
    }

    @Test(arguments: ["b1g64", "b2g128", "b3g192", "b2g128a", "t1g128"])
    func loadedWeightsEqualWrittenOnes(_ name: String) throws {
        let format = try WeightFormat(name: name)
        let graph = try rewritten(format)
        let node = try #require(graph.nodes.first(where: XNORPopcountGemmNode.isXNOR))
        #expect(XNORPopcountGemmNode.weightFormat(of: node) == name)
        let packed = try WeightPackingPass.run(graph)
        let path = try write(packed, "\(name).xnor")
        let loaded = try XNORModelFile.open(path)
        for (weight, written) in packed.weights {
            let read = try #require(loaded.packed.weights[weight])
            #expect(read.format == format && written.format == format)
            #expect(read.scales == written.scales && read.offsets == written.offsets)
            #expect(QuantizedMatrix(unpacking: read) == QuantizedMatrix(unpacking: written))
            let entry = try #require(loaded.file.tensor(named: "\(weight).scale"))
            #expect(entry.type == .ggml(.f16) && entry.shape == format.traits.scaleShape(format, read.n, read.k))
            #expect((loaded.file.tensor(named: "\(weight).offset") != nil) == format.affine)
        }
    }

    @Test func calibratedCodesArePackedAsGivenAndMismatchesRefused() throws {
        let graph = try rewritten(.binary(planes: 2, group: 64))
        let node = try #require(graph.nodes.first(where: XNORPopcountGemmNode.isXNOR))
        let weight = try #require(XNORPopcountGemmNode.weight(of: node))
        guard case .int(let n) = node.attribute("n"), case .int(let k) = node.attribute("k") else { Issue.record("no n, k"); return }
        let (n64, k64) = (Int(n), Int(k))
        // Codes no round to nearest would choose: all +1 on plane 0, alternating on plane 1.
        let codes: [[Int8]] = [[Int8](repeating: 1, count: n64 * k64), (0..<(n64 * k64)).map { $0 % 2 == 0 ? 1 : -1 }]
        let given = QuantizedMatrix(format: .binary(planes: 2, group: 64), n: n64, k: k64, codes: codes,
                                    scales: (0..<(2 * n64 * 2)).map { Float($0 % 16 + 1) / 8 })
        let packed = try WeightPackingPass.run(graph, quantized: [weight: given])
        #expect(QuantizedMatrix(unpacking: try #require(packed.weights[weight])) == given)

        var wrongFormat = given
        wrongFormat.format = .binary(planes: 2, group: 128)
        let error = try #require(throws: WeightPackingPass.Failure.self) { try WeightPackingPass.run(graph, quantized: [weight: wrongFormat]) }
        #expect(error.description.contains("b2g128 [\(n64), \(k64)], the node needs b2g64"), "\(error)")
        var wrongScale = given
        wrongScale.scales[0] = 0.1
        #expect(throws: WeightPackingPass.Failure.self) { try WeightPackingPass.run(graph, quantized: [weight: wrongScale]) }
    }

    @Test func badFilesAreRefusedWithOneLine() throws {
        let packed = try WeightPackingPass.run(try rewritten(.binary(planes: 2, group: 64, affine: true)))
        func refusal(_ name: String, edit: @escaping (inout Node) -> Void) throws -> String {
            let path = try write(packed, name, edit: edit)
            let error = try #require(throws: FormatError.self) { _ = try XNORModelFile.open(path) }
            let text = "\(error)"
            #expect(text.contains(path) && !text.contains("\n"), "\(text)")
            return text
        }
        func setFormat(_ value: AttributeValue) -> (inout Node) -> Void {
            { node in
                node.attributes.removeAll { $0.name == XNORPopcountGemmNode.Attribute.weightFormat }
                node.attributes.append((XNORPopcountGemmNode.Attribute.weightFormat, value))
            }
        }
        var text = try refusal("unknown.xnor", edit: setFormat(.string("b9g64")))
        #expect(text.contains("weight format 'b9g64'") && text.contains("binary formats have 1 to 3 planes"), "\(text)")
        text = try refusal("planes.xnor", edit: setFormat(.string("b3g64a")))
        #expect(text.contains("sign2"), "\(text)")
        text = try refusal("shape.xnor", edit: setFormat(.string("b2g128a")))
        #expect(text.contains(".scale") || text.contains(".offset"), "\(text)")
        text = try refusal("type.xnor", edit: setFormat(.int(3)))
        #expect(text.contains("'weight_format' is not a string"), "\(text)")
        text = try refusal("ternary-a1.xnor") { node in
            setFormat(.string("t1g64"))(&node)
            node.attributes.removeAll { $0.name == XNORPopcountGemmNode.Attribute.mode }
            node.attributes.append((XNORPopcountGemmNode.Attribute.mode, .string("w1a1")))
        }
        #expect(text.contains("cannot take a1"), "\(text)")

        // A float16 infinity where a scale should be.
        let path = try write(packed, "inf.xnor")
        let name = try #require(packed.weights.keys.first)
        let entry = try #require(try XNORFile.open(path).tensor(named: "\(name).scale"))
        let fd = open(path, O_WRONLY)
        var bits = UInt16(0x7C00).littleEndian
        #expect(pwrite(fd, &bits, 2, off_t(entry.offset + 2)) == 2)
        close(fd)
        let error = try #require(throws: FormatError.self) { _ = try XNORModelFile.open(path) }
        #expect("\(error)".contains("scale 1 is inf"), "\(error)")
    }
}
