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

/// The .xnor layout of packed graphs: written once, loaded back zero-copy with the same
/// planes and scales, byte-identical when written twice, never overwriting without replace.
struct XNORModelFileTests {
    let model = fixturePath("onnx/models/gemm_tA1_tB1/model.onnx")

    func scratch(_ name: String) -> String { scratchFile(name, suite: "conversion") }

    func packed(_ mode: ConversionMode) throws -> (PackedGraph, ConversionReport) {
        let (graph, _) = try ONNXImporter.load(path: model)
        let (rewritten, report) = XNORRewritePass(mode: mode).run(graph)
        return (try WeightPackingPass.run(rewritten), report)
    }

    @Test(arguments: ConversionMode.allCases)
    func loadedWeightsEqualWrittenOnes(mode: ConversionMode) throws {
        let (packed, report) = try packed(mode)
        #expect(report.convertedCount == 1)
        let path = scratch("m-\(mode.rawValue).xnor")
        try XNORModelFile.write(packed, name: "t", mode: mode, source: XNORSource(format: "onnx", files: []), to: path, replace: false)
        let loaded = try XNORModelFile.open(path)
        #expect(loaded.mode == mode)
        #expect(Set(loaded.packed.weights.keys) == Set(packed.weights.keys))
        for (name, written) in packed.weights {
            let read = try #require(loaded.packed.weights[name])
            #expect(read.n == written.n && read.k == written.k)
            #expect(read.scales == written.scales)
            for plane in 0..<written.format.traits.planeNames(written.format).count { #expect(read.planeWords(plane) == written.planeWords(plane)) }
        }
        #expect(loaded.packed.graph.nodes.map(\.opType) == packed.graph.nodes.map(\.opType))
        // The float weight the planes replaced is not stored again.
        #expect(loaded.file.tensor(named: "B") == nil && loaded.file.tensor(named: "B.scale") != nil)
    }

    @Test func sameInputGivesIdenticalBytesAndNoSilentOverwrite() throws {
        let (packed, _) = try packed(.w1a8)
        let a = scratch("a.xnor"), b = scratch("b.xnor")
        try XNORModelFile.write(packed, name: "t", mode: .w1a8, source: XNORSource(format: "onnx", files: []), to: a, replace: false)
        try XNORModelFile.write(packed, name: "t", mode: .w1a8, source: XNORSource(format: "onnx", files: []), to: b, replace: false)
        let first = try MappedFile(mapping: a), second = try MappedFile(mapping: b)
        #expect(Array(try first.bytes(in: 0..<first.size)) == Array(try second.bytes(in: 0..<second.size)))
        #expect(throws: FormatError.self) {
            try XNORModelFile.write(packed, name: "t", mode: .w1a8, source: XNORSource(format: "onnx", files: []), to: a, replace: false)
        }
    }

    /// A packed weight's scale (α or γ, a mean of |W|) that an edited file makes NaN, infinite
    /// or negative is refused at load, naming the file and the tensor (issue 12: every output
    /// was NaN, with exit 0).
    @Test(arguments: [Float.nan, .infinity, -1])
    func aScaleThatIsNotAFiniteMeanIsRefused(_ bad: Float) throws {
        let (packed, _) = try packed(.w1a1)
        let path = scratch("scale-\(bad).xnor")
        try XNORModelFile.write(packed, name: "t", mode: .w1a1, source: XNORSource(format: "onnx", files: []), to: path, replace: false)
        let entry = try #require(try XNORFile.open(path).tensor(named: "B.scale"))
        #expect(entry.byteCount >= 8)
        // The second scale, so a check of the first alone would miss it.
        let fd = open(path, O_WRONLY)
        #expect(fd >= 0)
        var bits = bad.bitPattern.littleEndian
        #expect(pwrite(fd, &bits, 4, off_t(entry.offset + 4)) == 4)
        close(fd)
        let error = try #require(throws: FormatError.self) { _ = try XNORModelFile.open(path) }
        let text = "\(error)"
        #expect(text.contains(path) && text.contains("'B.scale'") && text.contains("scale 1 is \(bad)"), "\(text)")
    }
}
