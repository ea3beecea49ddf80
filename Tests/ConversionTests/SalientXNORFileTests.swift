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

/// Salient columns in .xnor files: the salient planes, scales and columns written and loaded
/// back; a file whose salient tensors are wrong (columns out of range, unsorted, repeated;
/// wrong sizes; missing) refused with one line naming the tensor.
struct SalientXNORFileTests {
    let model = fixturePath("onnx/models/gemm_tA1_tB1/model.onnx")
    let format = WeightFormat.binary(planes: 1, group: 64, salientColumns: 3, salientPlanes: 2)

    func scratch(_ name: String) -> String { scratchFile(name, suite: "salient") }

    /// The model's one matrix in `format`, with codes and scales from a fixed pattern.
    func packed() throws -> (PackedGraph, String, QuantizedMatrix) {
        let (source, _) = try ONNXImporter.load(path: model)
        var pass = XNORRewritePass(mode: .w1a8)
        pass.weightFormat = format
        let graph = pass.run(source).graph
        let node = try #require(graph.nodes.first(where: XNORPopcountGemmNode.isXNOR))
        let weight = try #require(XNORPopcountGemmNode.weight(of: node))
        guard case .int(let n64) = node.attribute("n"), case .int(let k64) = node.attribute("k") else { throw BitPackingError("no n, k") }
        let n = Int(n64), k = Int(k64), baseK = k - 3
        let q = QuantizedMatrix(format: format, n: n, k: k, codes: [(0..<(n * baseK)).map { $0 % 3 == 0 ? -1 : 1 }],
                                scales: (0..<(n * format.groupCount(k: k))).map { Float($0 % 8 + 1) / 16 },
                                salient: SalientCodes(columns: [0, k / 2, k - 1], codes: [(0..<(n * 3)).map { $0 % 2 == 0 ? 1 : -1 }, [Int8](repeating: -1, count: n * 3)],
                                                      scales: (0..<(2 * n)).map { Float($0 + 1) / 4 }))
        return (try WeightPackingPass.run(graph, quantized: [weight: q]), weight, q)
    }

    func write(_ packed: PackedGraph, _ name: String) throws -> String {
        let path = scratch(name)
        try XNORModelFile.write(packed, name: "t", mode: .w1a8, source: XNORSource(format: "onnx", files: []), to: path, replace: false)
        return path
    }

    @Test func loadedSalientSetEqualsTheWrittenOne() throws {
        let (packed, weight, q) = try packed()
        let path = try write(packed, "salient.xnor")
        let loaded = try XNORModelFile.open(path)
        let read = try #require(loaded.packed.weights[weight])
        #expect(read.format == format)
        #expect(QuantizedMatrix(unpacking: read) == q)
        let columns = try #require(loaded.file.tensor(named: "\(weight).salient_columns"))
        #expect(columns.type == .ggml(.i32) && columns.shape == [3])
        let scales = try #require(loaded.file.tensor(named: "\(weight).salient_scale"))
        #expect(scales.type == .ggml(.f16) && scales.shape == [2, q.n])
        #expect(loaded.file.tensor(named: "\(weight).salient_sign1") != nil && loaded.file.tensor(named: "\(weight).salient_sign2") == nil)
    }

    @Test func badSalientTensorsAreRefusedWithOneLine() throws {
        let (packed, weight, q) = try packed()
        func refusal(_ name: String, columns: [Int32]? = nil, format newFormat: String? = nil) throws -> String {
            var packed = packed
            if let newFormat, let index = packed.graph.nodes.firstIndex(where: XNORPopcountGemmNode.isXNOR) {
                packed.graph.nodes[index].attributes.removeAll { $0.name == XNORPopcountGemmNode.Attribute.weightFormat }
                packed.graph.nodes[index].attributes.append((XNORPopcountGemmNode.Attribute.weightFormat, .string(newFormat)))
            }
            let path = try write(packed, name)
            if let columns {
                let entry = try #require(try XNORFile.open(path).tensor(named: "\(weight).salient_columns"))
                let fd = open(path, O_WRONLY)
                var bytes = columns.map { $0.littleEndian }
                #expect(pwrite(fd, &bytes, 12, off_t(entry.offset)) == 12)
                close(fd)
            }
            let error = try #require(throws: FormatError.self) { _ = try XNORModelFile.open(path) }
            let text = "\(error)"
            #expect(text.contains(path) && !text.contains("\n"), "\(text)")
            return text
        }
        let k = Int32(q.k)
        var text = try refusal("range.xnor", columns: [0, 5, k])
        #expect(text.contains("salient columns[2] = \(k) is out of 0..<\(k)"), "\(text)")
        text = try refusal("negative.xnor", columns: [-3, 5, 6])
        #expect(text.contains("salient columns[0] = -3 is out of"), "\(text)")
        text = try refusal("unsorted.xnor", columns: [0, 6, 5])
        #expect(text.contains("salient columns[2] = 5 does not follow 6"), "\(text)")
        text = try refusal("repeated.xnor", columns: [0, 5, 5])
        #expect(text.contains("salient columns[2] = 5 does not follow 5"), "\(text)")
        text = try refusal("count.xnor", format: "b1g64s4p2")
        #expect(text.contains("tensor '\(weight).salient_columns'") && text.contains("needs I32 [4]"), "\(text)")
        text = try refusal("planes.xnor", format: "b1g64s3")
        #expect(text.contains("'\(weight).salient_sign2'"), "\(text)")
        text = try refusal("wide.xnor", format: "b1g64s\(q.k)p2")
        #expect(text.contains("at least one must stay in the base planes"), "\(text)")
    }
}
