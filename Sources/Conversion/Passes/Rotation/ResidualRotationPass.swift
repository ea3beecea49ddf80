import Graph
import Tensors

/// Rotates a decoder's residual stream by an orthogonal Q [H, H] (QuaRot, BitNet v2): the
/// residual x becomes x·Q everywhere, which keeps the function and spreads the few huge input
/// channels of every projection over all of them, so 1-bit weights lose far less.
///
/// - the token embedding E [V, H] becomes E·Q (each row);
/// - every projection that reads a normed residual (q/k/v, gate/up, the output head) gets W·Q
///   (each row: its K side), since RMSNorm(x·Q) = RMSNorm(x)·Q once the norm's weight is 1
///   (run NormFoldingPass first);
/// - every projection whose output is added into the residual (o, down) gets Qᵀ·W (each
///   column: its N side), and its bias b·Q.
///
/// The pass refuses (throws, naming the node) a graph in which anything else reads the
/// residual stream: a norm with a weight, an Add of something other than a projection, a scale
/// of the embedding (Gemma), a residual that is a graph output. The embedding table and the
/// output head are written as float32 here; `RotationPasses` chooses their storage.
public struct ResidualRotationPass: Sendable {
    public static let name = "rotate-residual"
    public var seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
    }

    /// What the pass found in the graph: the nodes it rewrites, by role.
    struct Plan {
        var embedding: Int
        var hidden: Int
        var readers: [Int] = []
        var writers: [Int] = []
        var norms: [Int] = []
    }

    public func run(_ graph: Graph) throws -> (graph: Graph, report: RotationReport, transform: OrthogonalTransform) {
        let uses = GraphUses(graph)
        let plan = try makePlan(graph, uses: uses)
        let q = OrthogonalTransform(size: plan.hidden, seed: seed)
        var report = RotationReport()
        var rewriter = ConstantRewriter(graph)
        var scratch = q.makeScratch()
        var vector = [Double](repeating: 0, count: plan.hidden)

        func rotateRows(_ values: inout [Float], rows: Int) {
            let h = plan.hidden
            vector.withUnsafeMutableBufferPointer { v in
                scratch.withUnsafeMutableBufferPointer { s in
                    for row in 0..<rows {
                        for i in 0..<h { v[i] = Double(values[row * h + i]) }
                        q.apply(v, scratch: s)
                        for i in 0..<h { values[row * h + i] = Float(v[i]) }
                    }
                }
            }
        }

        let embeddingNode = graph.nodes[plan.embedding]
        let table = uses.constants[embeddingNode.inputs[1]]!
        var tableValues = try table.floatValues()
        rotateRows(&tableValues, rows: table.shape[0])
        rewriter.replace(node: plan.embedding, input: 1, shape: table.shape, tableValues)
        report.changed(Self.name, table.name, "embedding rows E·Q, \(table.shape[0]) × \(plan.hidden) float32 (was \(table.storageTypeName))")

        for reader in plan.readers {
            let node = graph.nodes[reader]
            let p = uses.projection(node)!
            var values = try uses.constants[p.weight]!.floatValues()
            rotateRows(&values, rows: p.n)
            let untied = node.outputs[0] == LanguageModelNames.logitsOutput ? "output.weight" : nil
            let stored = rewriter.replace(node: reader, input: 1, shape: [p.n, p.k], values, untiedName: untied)
            report.changed(Self.name, node.displayName, "reads the residual: W·Q on its \(p.k) inputs"
                           + (stored == p.weight ? "" : ", stored as \(stored) (untied from \(p.weight))"))
        }
        for writer in plan.writers {
            let node = graph.nodes[writer]
            let p = uses.projection(node)!
            let original = try uses.constants[p.weight]!.floatValues()
            // Columns of W [H, K] rotated: transpose, rotate the rows, transpose back.
            var transposed = [Float](repeating: 0, count: original.count)
            for n in 0..<p.n { for k in 0..<p.k { transposed[k * p.n + n] = original[n * p.k + k] } }
            rotateRows(&transposed, rows: p.k)
            var values = original
            for n in 0..<p.n { for k in 0..<p.k { values[n * p.k + k] = transposed[k * p.n + n] } }
            rewriter.replace(node: writer, input: 1, shape: [p.n, p.k], values)
            var detail = "writes the residual: Qᵀ·W on its \(p.n) outputs"
            if let bias = p.bias {
                let tensor = uses.constants[bias]!
                var b = try tensor.floatValues()
                rotateRows(&b, rows: 1)
                rewriter.replace(node: writer, input: 2, shape: tensor.shape, b)
                detail += ", bias b·Q"
            }
            report.changed(Self.name, node.displayName, detail)
        }
        report.changed(Self.name, "Q", q.summary + ", seed \(seed)")
        return (rewriter.graph, report, q)
    }

    func makePlan(_ graph: Graph, uses: GraphUses) throws -> Plan {
        let embeddings = graph.nodes.indices.filter { graph.nodes[$0].opType == "Embedding" && graph.nodes[$0].domain == "xnorkit" }
        guard embeddings.count == 1, let e = embeddings.first else {
            throw RotationError("the graph has \(embeddings.count) token embeddings; the residual rotation needs exactly one")
        }
        let embedding = graph.nodes[e]
        guard embedding.inputs.count == 2, let table = uses.constants[embedding.inputs[1]], table.shape.count == 2, table.packedTernary == nil else {
            throw RotationError("the embedding '\(embedding.displayName)' has no constant [V, H] table")
        }
        var plan = Plan(embedding: e, hidden: table.shape[1])
        let h = plan.hidden
        var queue = [embedding.outputs[0]]
        var seen = Set(queue)
        while let value = queue.popLast() {
            if uses.outputs.contains(value) { throw RotationError("the residual value '\(value)' is a graph output") }
            for index in uses.consumers[value] ?? [] {
                let node = graph.nodes[index]
                if node.opType == "RMSNorm", node.domain == "xnorkit", node.inputs.first == value {
                    try checkUnitNorm(node, hidden: h, uses: uses)
                    plan.norms.append(index)
                    let normed = node.outputs[0]
                    if uses.outputs.contains(normed) { throw RotationError("the normed residual '\(normed)' is a graph output") }
                    for reader in uses.consumers[normed] ?? [] {
                        let r = graph.nodes[reader]
                        guard let p = uses.projection(r), r.inputs[0] == normed, p.k == h else {
                            throw RotationError("'\(r.displayName)' (\(r.opType)) reads the normed residual '\(normed)' and is not a projection with \(h) inputs")
                        }
                        plan.readers.append(reader)
                    }
                } else if node.opType == "Add", node.domain.isEmpty, node.inputs.count == 2, node.outputs.count == 1, node.inputs[0] != node.inputs[1] {
                    let other = node.inputs[0] == value ? node.inputs[1] : node.inputs[0]
                    guard let w = uses.producer[other], let p = uses.projection(graph.nodes[w]), p.n == h,
                          uses.consumers[other]?.count == 1, !uses.outputs.contains(other) else {
                        throw RotationError("'\(node.displayName)' adds '\(other)' to the residual, which is not the output of a projection with \(h) outputs read by that Add alone")
                    }
                    plan.writers.append(w)
                    if seen.insert(node.outputs[0]).inserted { queue.append(node.outputs[0]) }
                } else {
                    throw RotationError("'\(node.displayName)' (\(node.opType)) reads the residual '\(value)': only RMSNorm and residual Adds of projections can be rotated")
                }
            }
        }
        // A value read by two roles (a writer's weight also read elsewhere) is untied by the
        // rewriter; a node in two roles would be rotated twice.
        guard Set(plan.readers).count == plan.readers.count, Set(plan.writers).isDisjoint(with: plan.readers),
              Set(plan.writers).count == plan.writers.count else {
            throw RotationError("a projection both reads and writes the residual")
        }
        return plan
    }

    private func checkUnitNorm(_ node: Node, hidden: Int, uses: GraphUses) throws {
        guard node.inputs.count == 2, let weight = uses.constants[node.inputs[1]], weight.elementCount == hidden else {
            throw RotationError("the norm '\(node.displayName)' does not normalize the whole \(hidden)-wide residual")
        }
        if case .float(let offset) = node.attribute("weight_offset"), offset != 0 {
            throw RotationError("the norm '\(node.displayName)' scales by (w + \(offset)), which does not commute with a rotation")
        }
        guard try weight.floatValues().allSatisfy({ $0 == 1 }) else {
            throw RotationError("the norm '\(node.displayName)' has a weight, which does not commute with a rotation (fold it first)")
        }
    }
}
