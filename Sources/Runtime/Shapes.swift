import Tensors

/// Shape arithmetic shared by the kernels: strides, broadcasting, axes.
enum Shapes {
    /// Row-major element strides of `shape`.
    static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = running
            running = running &* shape[d]
        }
        return strides
    }

    /// numpy (multidirectional) broadcasting of several shapes.
    static func broadcast(_ shapes: [[Int]]) throws -> [Int] {
        let rank = shapes.map(\.count).max() ?? 0
        var result = [Int](repeating: 1, count: rank)
        for shape in shapes {
            let offset = rank - shape.count
            for (i, dim) in shape.enumerated() {
                let current = result[offset + i]
                if current == dim || dim == 1 { continue }
                if current == 1 {
                    result[offset + i] = dim
                } else {
                    throw OpError("shapes \(shapes.map { "\($0)" }.joined(separator: " and ")) cannot be broadcast together")
                }
            }
        }
        return result
    }

    /// Whether `shape` broadcasts to `target` without changing `target` (unidirectional).
    static func broadcasts(_ shape: [Int], to target: [Int]) -> Bool {
        guard shape.count <= target.count else { return false }
        let offset = target.count - shape.count
        return shape.enumerated().allSatisfy { $0.element == 1 || $0.element == target[offset + $0.offset] }
    }

    /// Element strides of `shape` read as if broadcast to `target`: aligned on the right, 0
    /// along the dims it repeats. `shape` must broadcast to `target`.
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = strides(shape)
        let offset = target.count - shape.count
        var result = [Int](repeating: 0, count: target.count)
        for i in 0..<shape.count where shape[i] != 1 {
            result[offset + i] = own[i]
        }
        return result
    }

    /// `axis` in [-rank, rank) made non-negative.
    static func axis(_ axis: Int, rank: Int, _ what: String = "axis") throws -> Int {
        guard axis >= -rank, axis < rank else {
            throw OpError("\(what) \(axis) is out of range for rank \(rank)")
        }
        return axis < 0 ? axis + rank : axis
    }

    /// Distinct axes made non-negative.
    static func axes(_ axes: [Int], rank: Int, _ what: String = "axes") throws -> [Int] {
        var seen = Set<Int>()
        return try axes.map { raw in
            let a = try axis(raw, rank: rank, what)
            guard seen.insert(a).inserted else { throw OpError("\(what) \(axes) name axis \(a) twice") }
            return a
        }
    }

    /// The element count of `shape`, failing on negative dims and overflow.
    static func count(_ shape: [Int]) throws -> Int {
        guard let n = Checked.product(shape) else {
            throw OpError("shape \(shape) has a negative dimension or too many elements")
        }
        return n
    }

    static func product(_ dims: ArraySlice<Int>) -> Int { dims.reduce(1, &*) }
}

/// A walk over a multi-dimensional index space, giving each operand's element offset at the
/// start of every run along the innermost dimension. Adjacent dims that every operand steps
/// through contiguously are merged first, so most walks have one or two dims.
struct StridedWalk {
    private(set) var dims: [Int]
    private(set) var strides: [[Int]]
    private let bases: [Int]

    /// `strides[k]` are operand k's element strides for `dims`; `bases[k]` its first offset.
    init(dims: [Int], strides: [[Int]], bases: [Int]? = nil) {
        self.bases = bases ?? [Int](repeating: 0, count: strides.count)
        var mergedDims: [Int] = []
        var mergedStrides = [[Int]](repeating: [], count: strides.count)
        // From the innermost dim outwards: skip dims of size 1, merge a dim into the one inside
        // it when every operand's stride continues evenly.
        for d in stride(from: dims.count - 1, through: 0, by: -1) {
            let size = dims[d]
            if size == 1 { continue }
            if let innerSize = mergedDims.last,
               (0..<strides.count).allSatisfy({ strides[$0][d] == mergedStrides[$0].last! &* innerSize }) {
                mergedDims[mergedDims.count - 1] = innerSize &* size
                continue
            }
            mergedDims.append(size)
            for k in 0..<strides.count { mergedStrides[k].append(strides[k][d]) }
        }
        if mergedDims.isEmpty {
            mergedDims = [1]
            for k in 0..<strides.count { mergedStrides[k] = [0] }
        }
        self.dims = mergedDims.reversed()
        self.strides = mergedStrides.map { $0.reversed() }
    }

    /// A walk over `shape` where operand 0 is a contiguous output and the others are inputs of
    /// the given shapes broadcast to it.
    init(output shape: [Int], broadcasting inputs: [[Int]]) {
        self.init(dims: shape, strides: [Shapes.strides(shape)] + inputs.map { Shapes.broadcastStrides($0, to: shape) })
    }

    var elementCount: Int { dims.reduce(1, &*) }

    func baseOffset(_ k: Int) -> Int { bases[k] }

    /// Stride of operand k along the innermost (run) dimension.
    func innerStride(_ k: Int) -> Int { strides[k][dims.count - 1] }

    /// Calls `body(runLength, offsets)` for every run, `offsets[k]` being operand k's offset of
    /// the run's first element.
    func forEachRun(_ body: (Int, UnsafeBufferPointer<Int>) throws -> Void) rethrows {
        let count = elementCount
        guard count > 0 else { return }
        let inner = dims[dims.count - 1]
        let outerRank = dims.count - 1
        var offsets = bases
        var index = [Int](repeating: 0, count: outerRank)
        var done = 0
        while done < count {
            try offsets.withUnsafeBufferPointer { try body(inner, $0) }
            done += inner
            var d = outerRank - 1
            while d >= 0 {
                index[d] += 1
                for k in 0..<offsets.count { offsets[k] &+= strides[k][d] }
                if index[d] < dims[d] { break }
                for k in 0..<offsets.count { offsets[k] &-= strides[k][d] &* dims[d] }
                index[d] = 0
                d -= 1
            }
        }
    }
}
