import Tensors

/// The buffers of a session, shared by all its plans: only one plan runs at a time, so a
/// prompt of 100 tokens, one of 7 and a decode step can use the same storage. A plan's
/// buffers of one element type, largest first, take the pool's slots of that type, largest
/// first; a slot grows to the largest buffer any plan puts in it. Plans for many prompt
/// lengths thus take about the memory of the largest plan, where a pool per plan took their sum.
struct BufferPool {
    private(set) var types: [Tensor.ElementType] = []
    private(set) var capacities: [Int] = []
    /// Taken out by a run while it uses them.
    var storages: [Tensor.Storage] = []

    /// Places a plan's buffers (element type and element count of each) in the pool, growing
    /// it where needed; returns the pool slot of each buffer.
    mutating func adopt(types planTypes: [Tensor.ElementType], capacities planCapacities: [Int]) -> [Int] {
        var slots = [Int](repeating: 0, count: planTypes.count)
        for type in Set(planTypes) {
            let buffers = planTypes.indices.filter { planTypes[$0] == type }.sorted { planCapacities[$0] > planCapacities[$1] }
            var ownSlots = types.indices.filter { types[$0] == type }.sorted { capacities[$0] > capacities[$1] }
            while ownSlots.count < buffers.count {
                ownSlots.append(types.count)
                types.append(type)
                capacities.append(0)
                storages.append(.empty(type))
            }
            for (buffer, slot) in zip(buffers, ownSlots) {
                slots[buffer] = slot
                capacities[slot] = max(capacities[slot], planCapacities[buffer])
            }
        }
        return slots
    }

    /// The bytes of all slots at their capacity (Int.max when that overflows).
    var bytes: Int {
        zip(types, capacities).reduce(0) { total, slot in
            Checked.multiply(slot.0.byteSize, slot.1).flatMap { Checked.add(total, $0) } ?? Int.max
        }
    }
}
