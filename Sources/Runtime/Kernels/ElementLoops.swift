/// The element loops the arithmetic kernels share: a map, and a broadcasting zip.
enum ElementLoops {
    /// Elements per thread below which a loop is not split over the session's pool.
    static let grain = 16384

    /// out[i] = f(x[i]); `out` has x's shape. With a context, split over its pool.
    // Inlined so that each caller's element type and closure are compiled into the loop: the
    // loop split over the pool otherwise ran generic code, a witness call per element.
    @inline(__always)
    static func map<A: TensorElement, R: TensorElement>(_ x: Tensor, into out: inout Tensor, context: KernelContext? = nil,
                                                       _ f: (A) -> R) throws {
        try x.withUnsafeBuffer(of: A.self) { source in
            try out.withUnsafeMutableBuffer(of: R.self) { destination in
                guard source.count == destination.count else {
                    throw OpError("internal error: output holds \(destination.count) elements, input \(source.count)")
                }
                forEachRange(source.count, context) { range in
                    for i in range { destination[i] = f(source[i]) }
                }
            }
        }
    }

    /// out = f(a, b) with numpy broadcasting; `out` has the broadcast shape. (Float arithmetic
    /// of one shape, the hot case, has plain loops split over the pool in BinaryKernel.)
    static func zip<A: TensorElement, B: TensorElement, R: TensorElement>(
        _ a: Tensor, _ b: Tensor, into out: inout Tensor, _ f: (A, B) -> R
    ) throws {
        if a.shape == b.shape && a.shape == out.shape {
            // No broadcasting (a residual Add, a gated Mul): one flat loop, no walk to build.
            try a.withUnsafeBuffer(of: A.self) { pa in
                try b.withUnsafeBuffer(of: B.self) { pb in
                    try out.withUnsafeMutableBuffer(of: R.self) { po in
                        guard pa.count == po.count, pb.count == po.count else {
                            throw OpError("internal error: element counts \(pa.count), \(pb.count) and \(po.count) differ")
                        }
                        for i in 0..<po.count { po[i] = f(pa[i], pb[i]) }
                    }
                }
            }
            return
        }
        let walk = StridedWalk(output: out.shape, broadcasting: [a.shape, b.shape])
        try a.withUnsafeBuffer(of: A.self) { pa in
            try b.withUnsafeBuffer(of: B.self) { pb in
                try out.withUnsafeMutableBuffer(of: R.self) { po in
                    try StridedCopy.checkBounds(walk, counts: [po.count, pa.count, pb.count])
                    guard let o = po.baseAddress, let x = pa.baseAddress, let y = pb.baseAddress else { return }
                    let so = walk.innerStride(0), sa = walk.innerStride(1), sb = walk.innerStride(2)
                    walk.forEachRun { n, offsets in
                        let ro = o + offsets[0], ra = x + offsets[1], rb = y + offsets[2]
                        for i in 0..<n { ro[i &* so] = f(ra[i &* sa], rb[i &* sb]) }
                    }
                }
            }
        }
    }

    /// out = f(out, b), b broadcast to out's shape (the variadic ops fold their inputs this way).
    static func accumulate<T: TensorElement>(_ b: Tensor, into out: inout Tensor, _ f: (T, T) -> T) throws {
        let walk = StridedWalk(output: out.shape, broadcasting: [b.shape])
        try b.withUnsafeBuffer(of: T.self) { pb in
            try out.withUnsafeMutableBuffer(of: T.self) { po in
                try StridedCopy.checkBounds(walk, counts: [po.count, pb.count])
                guard let o = po.baseAddress, let y = pb.baseAddress else { return }
                let so = walk.innerStride(0), sb = walk.innerStride(1)
                walk.forEachRun { n, offsets in
                    let ro = o + offsets[0], rb = y + offsets[1]
                    for i in 0..<n { ro[i &* so] = f(ro[i &* so], rb[i &* sb]) }
                }
            }
        }
    }

    private static func forEachRange(_ count: Int, _ context: KernelContext?, _ body: (Range<Int>) -> Void) {
        guard let context else { return body(0..<count) }
        context.forEachRange(count, grain: grain, body)
    }

    /// Fails when an integer divisor tensor holds a zero (Div, Mod).
    static func checkNoZero(_ divisor: Tensor) throws {
        let hasZero: Bool
        switch divisor.storage {
        case .int64(let a): hasZero = a.contains(0)
        case .int32(let a): hasZero = a.contains(0)
        default: hasZero = false
        }
        if hasZero { throw OpError("integer division by zero") }
    }
}
