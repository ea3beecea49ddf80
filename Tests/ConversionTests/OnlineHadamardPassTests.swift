import Conversion
import Graph
import Testing

struct OnlineHadamardPassTests {
    @Test func aHadamardGoesBeforeTheDownProjectionAndTheFunctionIsKept() throws {
        let graph = TinyDecoder(ffn: 12).graph
        let (transformed, report) = try OnlineHadamardPass().run(graph)
        let index = try #require(transformed.nodes.firstIndex { $0.opType == "Hadamard" })
        let node = transformed.nodes[index]
        #expect(node.domain == "xnorkit" && node.inputs == ["g"])
        guard case .int(12) = node.attribute("size") else { Issue.record("size \(String(describing: node.attribute("size")))"); return }
        #expect(transformed.nodes[index + 1].name == "d" && transformed.nodes[index + 1].inputs[0] == node.outputs[0])
        // Only D: P writes the residual too but reads a Sigmoid, not the gated product.
        #expect(transformed.nodes.filter { $0.opType == "Hadamard" }.count == 1)
        #expect(report.entries.count == 1 && report.entries[0].detail.contains("12 = 12 (Paley) × 1"))
        let relative = TinyDecoder.relativeError(try TinyDecoder.logits(transformed), try TinyDecoder.logits(graph))
        #expect(relative <= 1e-6, "relative error \(relative)")
    }

    @Test func aWidthWithoutAMatrixIsLeft() throws {
        let graph = TinyDecoder(ffn: 10).graph
        let (transformed, report) = try OnlineHadamardPass().run(graph)
        #expect(!transformed.nodes.contains { $0.opType == "Hadamard" })
        #expect(report.entries.count == 1 && !report.entries[0].changed && report.entries[0].detail.contains("order 10"))
    }

    /// `writers`: before D and P; `all`: one Hadamard shared by A and B (both read h1), one
    /// each before O, D and P, none before the output head.
    @Test func targetsChooseTheProjections() throws {
        let graph = TinyDecoder(ffn: 12).graph
        let expected: [(OnlineHadamardPass.Targets, [String])] = [(.down, ["g"]), (.writers, ["g", "s"]), (.all, ["h1", "g", "h2", "s"])]
        for (targets, inputs) in expected {
            let (transformed, _) = try OnlineHadamardPass(targets: targets).run(graph)
            let hadamards = transformed.nodes.filter { $0.opType == "Hadamard" }
            #expect(Set(hadamards.map { $0.inputs[0] }) == Set(inputs), "\(targets): \(hadamards.map(\.inputs))")
            let readers = transformed.nodes.filter { $0.opType == "Gemm" && $0.inputs[0].hasSuffix(".hadamard") }.map(\.name)
            #expect(readers.count == (targets == .all ? 5 : inputs.count), "\(targets): \(readers)")
            let relative = TinyDecoder.relativeError(try TinyDecoder.logits(transformed), try TinyDecoder.logits(graph))
            #expect(relative <= 1e-6, "\(targets): relative error \(relative)")
        }
    }
}
