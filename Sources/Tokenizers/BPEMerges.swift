/// The merge table of a BPE vocabulary and the merge loop: repeatedly join the adjacent pair of
/// lowest rank, leftmost first, as llama.cpp's `llm_tokenizer_bpe_session` and HF tokenizers'
/// BPE model do.
struct BPEMerges: Sendable {
    struct Merge: Sendable {
        var rank: Int32
        var merged: Int32
    }

    /// Keyed by left id << 32 | right id.
    let table: [UInt64: Merge]

    init(table: [UInt64: Merge]) {
        self.table = table
    }

    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> Merge? {
        guard left >= 0, right >= 0 else { return nil }
        return table[Self.key(left, right)]
    }

    /// Merges `ids` (one per initial symbol, -1 for a symbol outside the vocabulary, which never
    /// merges) in place; `spans` follow: after the call each surviving symbol's span covers the
    /// initial symbols it joined.
    func apply(_ ids: inout [Int32], _ spans: inout [Range<Int>]) {
        if ids.count < 2 { return }
        if ids.count <= 32 {
            applyByScanning(&ids, &spans)
        } else {
            applyWithHeap(&ids, &spans)
        }
    }

    private func applyByScanning(_ ids: inout [Int32], _ spans: inout [Range<Int>]) {
        while ids.count > 1 {
            var best: Merge? = nil
            var bestIndex = -1
            for i in 0..<(ids.count - 1) {
                if let m = lookup(ids[i], ids[i + 1]), best == nil || m.rank < best!.rank {
                    best = m
                    bestIndex = i
                }
            }
            guard let merge = best else { return }
            ids[bestIndex] = merge.merged
            spans[bestIndex] = spans[bestIndex].lowerBound..<spans[bestIndex + 1].upperBound
            ids.remove(at: bestIndex + 1)
            spans.remove(at: bestIndex + 1)
        }
    }

    private struct Candidate: MergeCandidate {
        var rank: Int32
        var left: Int32
        var right: Int32
        var leftID: Int32
        var rightID: Int32

        func before(_ other: Candidate) -> Bool {
            rank < other.rank || (rank == other.rank && left < other.left)
        }
    }

    private func applyWithHeap(_ ids: inout [Int32], _ spans: inout [Range<Int>]) {
        let n = ids.count
        var next = (0..<n).map { Int32($0 + 1 < n ? $0 + 1 : -1) }
        var previous = (0..<n).map { Int32($0 - 1) }
        var alive = [Bool](repeating: true, count: n)
        var heap = MergeQueue<Candidate>(capacity: n)

        func consider(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0, let m = lookup(ids[Int(left)], ids[Int(right)]) else { return }
            heap.push(Candidate(rank: m.rank, left: left, right: right, leftID: ids[Int(left)], rightID: ids[Int(right)]))
        }

        for i in 0..<(n - 1) { consider(Int32(i), Int32(i + 1)) }
        while !heap.isEmpty {
            let c = heap.pop()
            let l = Int(c.left), r = Int(c.right)
            guard alive[l], alive[r], next[l] == c.right, ids[l] == c.leftID, ids[r] == c.rightID,
                  let m = lookup(c.leftID, c.rightID) else { continue }
            ids[l] = m.merged
            spans[l] = spans[l].lowerBound..<spans[r].upperBound
            alive[r] = false
            next[l] = next[r]
            if next[r] >= 0 { previous[Int(next[r])] = c.left }
            consider(previous[l], c.left)
            consider(c.left, next[l])
        }
        var keptIDs: [Int32] = []
        var keptSpans: [Range<Int>] = []
        var i: Int32 = 0
        while i >= 0 {
            keptIDs.append(ids[Int(i)])
            keptSpans.append(spans[Int(i)])
            i = next[Int(i)]
        }
        ids = keptIDs
        spans = keptSpans
    }
}
