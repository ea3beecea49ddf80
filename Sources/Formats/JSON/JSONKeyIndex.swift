/// The distinct keys of a JSON object in the order they first appear, for finding repeated
/// keys among millions.
///
/// A `[String: Int]` of millions of keys spends most of its time rehashing strings with SipHash
/// each time it grows (a 91 MB safetensors header of 7·10⁶ metadata keys took 9 s). Here each
/// key is hashed once, with FNV-1a, into an open-addressing table of 32-bit indices that grows
/// by rehashing the stored 64-bit hashes; keys whose hashes collide are told apart by comparing
/// the strings. About 40 bytes per key.
struct JSONKeyIndex {
    private var keys: [String] = []
    private var hashes: [UInt64] = []
    /// Indices into `keys`, or -1; a power-of-two count, at most half full.
    private var slots = [Int32](repeating: -1, count: 16)
    private var shift = 60

    /// The index `key` got when it was first inserted, or nil (and `key` gets the next index).
    mutating func insert(_ key: String) -> Int? {
        let hash = Self.fnv1a(key)
        var slot = Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> UInt64(shift))
        let mask = slots.count - 1
        while slots[slot] >= 0 {
            let index = Int(slots[slot])
            if hashes[index] == hash && keys[index] == key { return index }
            slot = (slot + 1) & mask
        }
        // Past Int32, a header would be tens of gigabytes: the readers bound it far below.
        precondition(keys.count < Int(Int32.max), "JSONKeyIndex holds at most 2^31 keys")
        slots[slot] = Int32(keys.count)
        keys.append(key)
        hashes.append(hash)
        if keys.count * 2 > slots.count { grow() }
        return nil
    }

    private mutating func grow() {
        shift -= 1
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for (index, hash) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> UInt64(shift))
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index)
        }
    }

    private static func fnv1a(_ key: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
