/// A candidate merge that knows which of two goes first (lower rank, higher score, then the
/// leftmost), as llama.cpp's BPE and SPM priority queues order them.
protocol MergeCandidate {
    func before(_ other: Self) -> Bool
}

/// The binary min-heap of candidate merges that BPE and SentencePiece BPE both pop from.
struct MergeQueue<Candidate: MergeCandidate> {
    private var heap: [Candidate] = []

    init(capacity: Int = 0) { heap.reserveCapacity(capacity) }

    var isEmpty: Bool { heap.isEmpty }

    mutating func push(_ candidate: Candidate) {
        heap.append(candidate)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].before(heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    /// The first candidate; call only when not empty.
    mutating func pop() -> Candidate {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var first = i
                if l < heap.count, heap[l].before(heap[first]) { first = l }
                if r < heap.count, heap[r].before(heap[first]) { first = r }
                if first == i { break }
                heap.swapAt(i, first)
                i = first
            }
        }
        return top
    }
}
