import Tensors
/// What the executor decided for one set of input types: the type of every value, the nodes
/// evaluated while planning and their results, and for the others the buffer each output
/// lives in. Buffers are reused once their value's last reader has run.
final class ExecutionPlan {
    /// Where a node's input (or a graph output) comes from when running.
    enum Source {
        case absent
        case graphInput(Int)
        case constant(Tensor)
        /// A value computed when running, by value id, until buffers are assigned.
        case value(Int, TensorType)
        case buffer(Int, TensorType)
    }

    struct Step {
        var node: Int
        /// Nil for nodes evaluated while planning.
        var compute: Compute?
        /// For evaluated nodes: the values they read and produced (for observers).
        var plannedInputs: [Tensor?] = []
        var plannedOutputs: [Tensor] = []
    }

    struct Compute {
        var inputs: [Source]
        var outputs: [(buffer: Int, type: TensorType)]
    }

    var types: [TensorType?]
    var steps: [Step] = []
    var outputs: [(name: String, source: Source)] = []
    var bufferTypes: [Tensor.ElementType] = []
    var bufferCapacities: [Int] = []

    init(valueCount: Int) {
        types = [TensorType?](repeating: nil, count: valueCount)
    }

    /// Gives every output of the computed steps a buffer: a free one of the same element type
    /// (the smallest that is large enough, else the largest, which grows), or a new one. A
    /// buffer is free again after the last step that reads its value.
    func assignBuffers(lastReader: [Int: Int], pinned: Set<Int>, valueOf: (Int, Int) -> Int?) {
        var free: [Tensor.ElementType: [Int]] = [:]
        var bufferOfValue: [Int: Int] = [:]
        for (s, step) in steps.enumerated() {
            guard var compute = step.compute else { continue }
            var releasedHere: [Int] = []
            for k in 0..<compute.outputs.count {
                let type = compute.outputs[k].type
                let need = type.elementCount
                var candidates = free[type.elementType] ?? []
                let buffer: Int
                if let best = candidates.indices.filter({ bufferCapacities[candidates[$0]] >= need })
                    .min(by: { bufferCapacities[candidates[$0]] < bufferCapacities[candidates[$1]] })
                    ?? candidates.indices.max(by: { bufferCapacities[candidates[$0]] < bufferCapacities[candidates[$1]] }) {
                    buffer = candidates.remove(at: best)
                    free[type.elementType] = candidates
                    bufferCapacities[buffer] = max(bufferCapacities[buffer], need)
                } else {
                    buffer = bufferTypes.count
                    bufferTypes.append(type.elementType)
                    bufferCapacities.append(need)
                }
                compute.outputs[k].buffer = buffer
                if let value = valueOf(step.node, k) {
                    bufferOfValue[value] = buffer
                    if lastReader[value] == nil && !pinned.contains(value) { releasedHere.append(buffer) }
                } else {
                    releasedHere.append(buffer)
                }
            }
            // Inputs whose last reader is this step free their buffers.
            for source in compute.inputs {
                if case .value(let value, _) = source, lastReader[value] == s, !pinned.contains(value),
                   let buffer = bufferOfValue[value], !releasedHere.contains(buffer) {
                    releasedHere.append(buffer)
                }
            }
            for buffer in releasedHere { free[bufferTypes[buffer], default: []].append(buffer) }
            steps[s].compute = compute
        }
        for s in steps.indices {
            guard var compute = steps[s].compute else { continue }
            compute.inputs = compute.inputs.map { source in
                if case .value(let value, let type) = source, let buffer = bufferOfValue[value] { return .buffer(buffer, type) }
                return source
            }
            steps[s].compute = compute
        }
        outputs = outputs.map { output in
            if case .value(let value, let type) = output.source, let buffer = bufferOfValue[value] {
                return (output.name, .buffer(buffer, type))
            }
            return output
        }
    }

    /// Renumbers the buffers as the session's pool slots they live in (`slots[buffer]`).
    func moveBuffers(to slots: [Int]) {
        func moved(_ source: Source) -> Source {
            if case .buffer(let buffer, let type) = source { return .buffer(slots[buffer], type) }
            return source
        }
        for s in steps.indices {
            guard var compute = steps[s].compute else { continue }
            compute.inputs = compute.inputs.map(moved)
            for k in compute.outputs.indices { compute.outputs[k].buffer = slots[compute.outputs[k].buffer] }
            steps[s].compute = compute
        }
        outputs = outputs.map { ($0.name, moved($0.source)) }
    }

    /// The bytes of this plan's buffers together (Int.max when that overflows), before they
    /// move into the session's pool.
    var bufferBytes: Int {
        zip(bufferTypes, bufferCapacities).reduce(0) { total, buffer in
            Checked.multiply(buffer.0.byteSize, buffer.1).flatMap { Checked.add(total, $0) } ?? Int.max
        }
    }
}
