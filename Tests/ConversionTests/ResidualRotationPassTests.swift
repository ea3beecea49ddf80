import Conversion
import Graph
import Tensors
import Testing

struct ResidualRotationPassTests {
    /// Hidden 8 (Sylvester), 12 (Paley I), 6 (no Hadamard matrix: random orthogonal).
    @Test(arguments: [8, 12, 6], [true, false])
    func rotatedGraphKeepsTheFunction(_ hidden: Int, _ tied: Bool) throws {
        let graph = TinyDecoder(hidden: hidden, tied: tied).graph
        let (rotated, report) = try RotationPasses.apply(to: graph, seed: 1, storage: .float32)
        let relative = TinyDecoder.relativeError(try TinyDecoder.logits(rotated), try TinyDecoder.logits(graph))
        #expect(relative <= 1e-5, "hidden \(hidden) tied \(tied): relative error \(relative)\n\(report.text)")
        // The residual really is rotated: the embedding rows changed but kept their norms.
        let before = try graph.constantValues("token_embd.weight"), after = try rotated.constantValues("token_embd.weight")
        #expect(before != after)
        for row in 0..<11 {
            let a = before[(row * hidden)..<((row + 1) * hidden)].reduce(0.0) { $0 + Double($1) * Double($1) }
            let b = after[(row * hidden)..<((row + 1) * hidden)].reduce(0.0) { $0 + Double($1) * Double($1) }
            #expect(abs(a - b) <= 1e-5 * a)
        }
        #expect(rotated.nodes.last?.inputs[1] == "output.weight")
        #expect(report.entries.contains { $0.subject == "Q" && $0.detail.contains(hidden == 6 ? "random orthogonal" : "Hadamard") })
    }

    @Test func theSameSeedGivesTheSameGraphAndAnotherSeedAnother() throws {
        let graph = TinyDecoder().graph
        let one = try RotationPasses.apply(to: graph, seed: 5).graph, again = try RotationPasses.apply(to: graph, seed: 5).graph
        let other = try RotationPasses.apply(to: graph, seed: 6).graph
        #expect(try one.constantValues("a.weight") == again.constantValues("a.weight"))
        #expect(try one.constantValues("a.weight") != other.constantValues("a.weight"))
    }

    /// Writers: Qᵀ·W on the N side, and the bias b·Q, checked on D against the dense Q the
    /// randomized Hadamard of order 8 stands for (Sylvester entries, SplitMix64 signs).
    @Test func aWriterIsRotatedOnItsOutputs() throws {
        let graph = TinyDecoder().graph
        let (folded, _) = try NormFoldingPass().run(graph)
        let (rotated, _, _) = try ResidualRotationPass(seed: 3).run(folded)
        var generator = SplitMix64(seed: 3)
        let signs = (0..<8).map { _ in generator.next() & 1 == 0 ? 1.0 : -1.0 }
        // Q[i][j] = s_i · H[j][i] / √8, H[j][i] = (−1)^popcount(i & j).
        func q(_ i: Int, _ j: Int) -> Double { signs[i] * ((i & j).nonzeroBitCount % 2 == 0 ? 1 : -1) / 8.0.squareRoot() }
        let w = try folded.constantValues("d.weight"), rotatedW = try rotated.constantValues("d.weight")
        for n in 0..<8 {
            for k in 0..<12 {
                let expected = (0..<8).reduce(0.0) { $0 + q($1, n) * Double(w[$1 * 12 + k]) }
                #expect(abs(Double(rotatedW[n * 12 + k]) - expected) <= 1e-6, "[\(n), \(k)]")
            }
        }
        let b = try folded.constantValues("d.bias"), rotatedB = try rotated.constantValues("d.bias")
        for j in 0..<8 {
            let expected = (0..<8).reduce(0.0) { $0 + Double(b[$1]) * q($1, j) }
            #expect(abs(Double(rotatedB[j]) - expected) <= 1e-6)
        }
    }

    @Test func aNormWithAWeightIsRefused() throws {
        let message = "\(try #require(throwing { try ResidualRotationPass(seed: 1).run(TinyDecoder().graph) }))"
        #expect(message.contains("'n1'") && message.contains("fold it first"), "\(message)")
    }

    @Test func anythingElseReadingTheResidualIsRefused() throws {
        var graph = TinyDecoder().graph
        // Gemma scales the embedding before the first layer.
        graph.initializers.append(ConstantTensor(name: "scale", elementType: .f32, shape: [], storage: .owned(Float(2).bitPatternBytes)))
        graph.nodes.insert(Node(name: "scaled", opType: "Mul", inputs: ["x0", "scale"], outputs: ["x0s"]), at: 1)
        graph.nodes[2].inputs[0] = "x0s"
        let message = "\(try #require(throwing { try RotationPasses.apply(to: graph, seed: 1) }))"
        #expect(message.contains("'scaled' (Mul) reads the residual"), "\(message)")
    }

    @Test func bitNetIsRefused() throws {
        var graph = TinyDecoder().graph
        graph.name = "bitnet"
        let message = "\(try #require(throwing { try RotationPasses.apply(to: graph, seed: 1) }))"
        #expect(message.contains("BitNet"))
    }
}

extension Float {
    var bitPatternBytes: [UInt8] { withUnsafeBytes(of: self) { Array($0) } }
}

/// The error `body` throws; fails the test when it throws none.
func throwing<T>(_ body: () throws -> T) -> (any Error)? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}
