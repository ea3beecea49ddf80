import Conversion
import Graph
import Testing

struct NormFoldingPassTests {
    @Test func foldedNormsKeepTheFunctionAndHaveUnitWeights() throws {
        let graph = TinyDecoder().graph
        let (folded, report) = try NormFoldingPass().run(graph)
        let relative = TinyDecoder.relativeError(try TinyDecoder.logits(folded), try TinyDecoder.logits(graph))
        #expect(relative <= 1e-6, "relative error \(relative)")
        for norm in ["n1.weight", "n2.weight", "n3.weight"] {
            #expect(try folded.constantValues(norm).allSatisfy { $0 == 1 }, "\(norm)")
        }
        // Columns scaled: A's column k by n1's weight k.
        let n1 = try graph.constantValues("n1.weight"), a = try graph.constantValues("a.weight"), folde = try folded.constantValues("a.weight")
        #expect(folde[1 * 8 + 3] == Float(Double(a[1 * 8 + 3]) * Double(n1[3])))
        #expect(report.entries.filter(\.changed).count == 3)
    }

    /// The tied head folds the output norm into its own copy: the embedding keeps its values.
    @Test func aTiedHeadIsUntied() throws {
        let graph = TinyDecoder(tied: true).graph
        let (folded, report) = try NormFoldingPass().run(graph)
        #expect(try folded.constantValues("token_embd.weight") == graph.constantValues("token_embd.weight"))
        let head = try #require(folded.nodes.last)
        #expect(head.inputs[1] == "output.weight")
        #expect(report.entries.contains { $0.detail.contains("untied from token_embd.weight") })
    }

    @Test func aNormFeedingAnythingButProjectionsIsLeft() throws {
        var graph = TinyDecoder().graph
        // n2's output also feeds the Sigmoid.
        let index = try #require(graph.nodes.firstIndex { $0.name == "s" })
        graph.nodes[index].inputs = ["h2"]
        let (folded, report) = try NormFoldingPass().run(graph)
        #expect(try folded.constantValues("n2.weight") == graph.constantValues("n2.weight"))
        #expect(try folded.constantValues("o.weight") == graph.constantValues("o.weight"))
        let entry = try #require(report.entries.first { $0.subject == "n2" })
        #expect(!entry.changed && entry.detail.contains("not a projection"), "\(entry)")
        #expect(TinyDecoder.relativeError(try TinyDecoder.logits(folded), try TinyDecoder.logits(graph)) <= 1e-6)
    }

    @Test func offsetNormsAreLeft() throws {
        let graph = TinyDecoder(normOffset: 1).graph
        let (folded, report) = try NormFoldingPass().run(graph)
        #expect(report.entries.allSatisfy { !$0.changed && $0.detail.contains("offset") }, "\(report.entries)")
        #expect(try folded.constantValues("a.weight") == graph.constantValues("a.weight"))
    }
}
