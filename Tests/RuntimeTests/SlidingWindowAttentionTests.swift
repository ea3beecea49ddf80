import Foundation
import Graph
@testable import Runtime
import Testing

/// xnorkit.Attention's `window` and `softcap` against the formulas written out here: token at
/// position p sees positions max(0, p − window + 1) … p (transformers' sliding_window_overlay,
/// kv > q − window), and each scaled score s becomes tanh(s / softcap) · softcap.
struct SlidingWindowAttentionTests {
    static let heads = 2, kvHeads = 1, headDim = 4, tokens = 11

    static func graph(window: Int?, softcap: Float?, causal: Bool = true, capacity: Int = 32) -> Graph {
        let t = Dim.symbolic("tokens")
        var attributes: [(name: String, value: AttributeValue)] = [
            ("num_heads", .int(Int64(heads))), ("num_kv_heads", .int(Int64(kvHeads))), ("head_dim", .int(Int64(headDim))),
            ("causal", .int(causal ? 1 : 0)), ("capacity", .int(Int64(capacity))), ("scale", .float(0.7)),
        ]
        if let window { attributes.append(("window", .int(Int64(window)))) }
        if let softcap { attributes.append(("softcap", .float(softcap))) }
        return Graph(name: "attention",
                     inputs: [ValueInfo(name: "q", elementType: .f32, shape: [t, .fixed(heads * headDim)]),
                              ValueInfo(name: "k", elementType: .f32, shape: [t, .fixed(kvHeads * headDim)]),
                              ValueInfo(name: "v", elementType: .f32, shape: [t, .fixed(kvHeads * headDim)]),
                              ValueInfo(name: "positions", elementType: .i64, shape: [t])],
                     outputs: [ValueInfo(name: "out", elementType: .f32, shape: [t, .fixed(heads * headDim)])],
                     initializers: [],
                     nodes: [Node(name: "attn", opType: "Attention", domain: "xnorkit", inputs: ["q", "k", "v", "positions"],
                                  outputs: ["out"], attributes: attributes)],
                     opsets: ["": 20, "xnorkit": 1])
    }

    /// Deterministic values of a few units, so a soft-cap of 2 bends the scores.
    static func values(_ count: Int, seed: Int) -> [Float] {
        (0..<count).map { Float(((($0 + 1) * (seed * 37 + 11)) % 23) - 11) / 4 }
    }

    static let q = values(tokens * heads * headDim, seed: 1)
    static let k = values(tokens * kvHeads * headDim, seed: 2)
    static let v = values(tokens * kvHeads * headDim, seed: 3)

    /// The formula, in float64.
    static func expected(window: Int?, softcap: Double?) -> [Float] {
        var out = [Float](repeating: 0, count: tokens * heads * headDim)
        for p in 0..<tokens {
            for h in 0..<heads {
                let visible = max(0, p - (window ?? tokens) + 1)...p
                let scores = visible.map { j -> Double in
                    var dot = 0.0
                    for d in 0..<headDim { dot += Double(q[(p * heads + h) * headDim + d]) * Double(k[j * headDim + d]) }
                    let s = dot * Double(Float(0.7))
                    return softcap.map { tanh(s / $0) * $0 } ?? s
                }
                let top = scores.max()!
                let weights = scores.map { exp($0 - top) }
                let total = weights.reduce(0, +)
                for d in 0..<headDim {
                    var sum = 0.0
                    for (i, j) in visible.enumerated() { sum += weights[i] / total * Double(v[j * headDim + d]) }
                    out[(p * heads + h) * headDim + d] = Float(sum)
                }
            }
        }
        return out
    }

    /// Runs the tokens in calls of `chunks` tokens, concatenating the outputs.
    static func run(_ session: Session, chunks: [Int]) throws -> [Float] {
        var out: [Float] = [], start = 0
        for n in chunks {
            let rows = start..<(start + n)
            func slice(_ x: [Float], _ width: Int) -> [Float] { Array(x[(rows.lowerBound * width)..<(rows.upperBound * width)]) }
            let result = try session.run(inputs: [
                "q": try Tensor(shape: [n, heads * headDim], floats: slice(q, heads * headDim)),
                "k": try Tensor(shape: [n, kvHeads * headDim], floats: slice(k, kvHeads * headDim)),
                "v": try Tensor(shape: [n, kvHeads * headDim], floats: slice(v, kvHeads * headDim)),
                "positions": try Tensor(shape: [n], int64s: rows.map { Int64($0) }),
            ])
            out += try #require(result["out"]).floatValues()
            start += n
        }
        return out
    }

    @Test(arguments: [(3, nil), (3, 2.0), (nil, 2.0), (1, nil), (20, 1.5)] as [(Int?, Double?)])
    func windowAndSoftcapFollowTheFormula(_ window: Int?, _ softcap: Double?) throws {
        let expected = Self.expected(window: window, softcap: softcap)
        let model = try CompiledModel(graph: Self.graph(window: window, softcap: softcap.map(Float.init)))
        // At once, one token at a time, and in calls that start inside and across the ring.
        for chunks in [[Self.tokens], [Int](repeating: 1, count: Self.tokens), [2, 4, 1, 3, 1], [5, 6]] {
            let ours = try Self.run(Session(model: model), chunks: chunks)
            let worst = zip(ours, expected).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-6, "window \(String(describing: window)), softcap \(String(describing: softcap)), chunks \(chunks): \(worst)")
        }
    }

    /// The window narrows what a token sees: without it the same inputs give other outputs.
    @Test func theWindowMatters() {
        let windowed = Self.expected(window: 3, softcap: nil), full = Self.expected(window: nil, softcap: nil)
        #expect(zip(windowed, full).map { abs($0 - $1) }.max()! > 0.1)
        let capped = Self.expected(window: nil, softcap: 2)
        #expect(zip(capped, full).map { abs($0 - $1) }.max()! > 0.1)
    }

    /// A sliding layer keeps its window of keys and values, not the context.
    @Test func aSlidingLayerKeepsOnlyItsWindow() throws {
        let width = Self.kvHeads * Self.headDim
        let windowed = try CompiledModel(graph: Self.graph(window: 3, softcap: nil, capacity: 1024))
        #expect(try windowed.sequenceMemoryBytes(contextLength: nil) == 2 * 3 * width * 4 + (3 + Self.headDim) * 8)
        let full = try CompiledModel(graph: Self.graph(window: nil, softcap: nil, capacity: 1024))
        #expect(try full.sequenceMemoryBytes(contextLength: nil) == 2 * 1024 * width * 4 + (1024 + Self.headDim) * 8)
        // A context shorter than the window holds the context.
        #expect(try windowed.sequenceMemoryBytes(contextLength: 2) == 2 * 2 * width * 4 + (2 + Self.headDim) * 8)
    }

    /// The window bounds what is kept, not how far a sequence goes: the context does.
    @Test func theContextStillBoundsTheSequence() throws {
        let model = try CompiledModel(graph: Self.graph(window: 3, softcap: nil, capacity: 8))
        let session = Session(model: model)
        _ = try Self.run(session, chunks: [8])
        let error = try #require(throws: ExecutionError.self) { _ = try Self.run(session, chunks: [8, 1]) }
        #expect("\(error)".contains("does not continue") || "\(error)".contains("context is full"))
        let fresh = Session(model: model)
        let full = try #require(throws: ExecutionError.self) { _ = try Self.run(fresh, chunks: [6, 3]) }
        #expect("\(full)".contains("context is full"), "\(full)")
    }

    @Test(arguments: [("window", AttributeValue.int(0), "'window' is 0"), ("softcap", .float(0), "'softcap' is 0"),
                      ("softcap", .float(-1), "'softcap' is -1")])
    func badAttributesAreRefused(_ name: String, _ value: AttributeValue, _ words: String) throws {
        var graph = Self.graph(window: nil, softcap: nil)
        graph.nodes[0].attributes.append((name, value))
        let error = try #require(throws: (any Error).self) { _ = try CompiledModel(graph: graph) }
        #expect("\(error)".contains(words), "\(error)")
    }

    @Test func aWindowOnAnEncoderIsRefused() throws {
        let error = try #require(throws: (any Error).self) { _ = try CompiledModel(graph: Self.graph(window: 3, softcap: nil, causal: false)) }
        #expect("\(error)".contains("causal"), "\(error)")
    }
}
