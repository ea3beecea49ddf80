import Graph

/// xnorkit.Embedding: ids [T] (int32 or int64) → rows of a constant table [V, H] as [T, H].
///
/// The table stays in its storage type (BF16, Q8_0, …) and only the looked-up rows are
/// decoded, so a 128k-row embedding costs no float32 copy.
struct EmbeddingKernel: OpKernel {
    static let opType = "Embedding"
    let table: WeightRows
    /// The input the ids come from: token ids, or the positions of a learned position embedding.
    let idsName: String

    init(_ setup: KernelSetup) throws {
        try setup.expect(inputs: 2...2)
        _ = try setup.attributes(allowed: [])
        guard let constant = setup.constant(input: 1) else { throw OpError("the table (input 1) must be a constant") }
        table = try WeightRows(constant)
        idsName = setup.node.inputs[0]
        // No id can index an empty vocabulary, and an empty row embeds nothing.
        guard table.rows > 0, table.columns > 0 else {
            throw OpError("the table '\(constant.name)' has shape \(constant.shape): a vocabulary and an embedding width must not be empty")
        }
    }

    func readsInput(at index: Int) -> Bool { index == 0 }

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let ids = try inputs.required(0).type
        guard ids.elementType.isInteger else { throw OpError("ids must be integers, are \(ids.elementType)") }
        return [TensorType(.float32, ids.shape + [table.columns])]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        let ids = try inputs.required(0)
        let width = table.columns
        try table.withReader { reader in
            try outputs[0].withUnsafeMutableBuffer(of: Float.self) { out in
                for t in 0..<ids.count {
                    let id = try ids.integer(at: t)
                    guard id >= 0, id < table.rows else {
                        throw OpError("'\(idsName)' holds \(id) at \(t), outside the \(table.rows) rows of '\(table.constant.name)'")
                    }
                    try reader.decode(row: id, into: UnsafeMutableBufferPointer(rebasing: out[(t * width)..<((t + 1) * width)]))
                }
            }
        }
    }
}
