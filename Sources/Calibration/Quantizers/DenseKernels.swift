/// The quantizers' dense loops, vectorized by hand (SIMD8 float, SIMD4 double) because the
/// compiler does not reorder floating-point sums. Each entry checks its bounds once, then
/// runs on pointers.
enum DenseKernels {
    /// y[r, 0..<width] += Σ_l a[r, l] · b[l, 0..<width] for r in 0..<rows, l in 0..<depth:
    /// row r of y, a and b starting at the given offsets, with the given strides.
    /// Tiles of 4 rows × 8 columns keep the accumulators in registers over the whole depth.
    static func addProducts(rows: Int, depth: Int, width: Int,
                            a: [Float], aOffset: Int = 0, aStride: Int,
                            b: [Float], bOffset: Int = 0, bStride: Int,
                            y: inout [Float], yOffset: Int = 0, yStride: Int) {
        guard rows > 0, depth > 0, width > 0 else { return }
        precondition(aOffset >= 0 && aOffset + (rows - 1) * aStride + depth <= a.count)
        precondition(bOffset >= 0 && bOffset + (depth - 1) * bStride + width <= b.count)
        precondition(yOffset >= 0 && yOffset + (rows - 1) * yStride + width <= y.count)
        a.withUnsafeBufferPointer { aBuffer in
            b.withUnsafeBufferPointer { bBuffer in
                y.withUnsafeMutableBufferPointer { yBuffer in
                    kernel(rows: rows, depth: depth, width: width,
                           a: aBuffer.baseAddress! + aOffset, aStride: aStride,
                           b: bBuffer.baseAddress! + bOffset, bStride: bStride,
                           y: yBuffer.baseAddress! + yOffset, yStride: yStride)
                }
            }
        }
    }

    private static func kernel(rows: Int, depth: Int, width: Int,
                               a: UnsafePointer<Float>, aStride: Int,
                               b: UnsafePointer<Float>, bStride: Int,
                               y: UnsafeMutablePointer<Float>, yStride: Int) {
        typealias V = SIMD8<Float>
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        @inline(__always) func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
        let vectorWidth = width & ~7
        var r = 0
        while r + 4 <= rows {
            let a0 = a + r * aStride, a1 = a0 + aStride, a2 = a1 + aStride, a3 = a2 + aStride
            let y0 = y + r * yStride, y1 = y0 + yStride, y2 = y1 + yStride, y3 = y2 + yStride
            var c = 0
            while c < vectorWidth {
                var s0 = load(y0 + c), s1 = load(y1 + c), s2 = load(y2 + c), s3 = load(y3 + c)
                var bp = b + c
                for l in 0..<depth {
                    let bv = load(bp)
                    s0 += V(repeating: a0[l]) * bv
                    s1 += V(repeating: a1[l]) * bv
                    s2 += V(repeating: a2[l]) * bv
                    s3 += V(repeating: a3[l]) * bv
                    bp += bStride
                }
                store(s0, y0 + c); store(s1, y1 + c); store(s2, y2 + c); store(s3, y3 + c)
                c += 8
            }
            while c < width {
                var s0 = y0[c], s1 = y1[c], s2 = y2[c], s3 = y3[c]
                for l in 0..<depth {
                    let bv = b[l * bStride + c]
                    s0 += a0[l] * bv; s1 += a1[l] * bv; s2 += a2[l] * bv; s3 += a3[l] * bv
                }
                y0[c] = s0; y1[c] = s1; y2[c] = s2; y3[c] = s3
                c += 1
            }
            r += 4
        }
        while r < rows {
            let ar = a + r * aStride
            let yr = y + r * yStride
            var c = 0
            while c < vectorWidth {
                var s = load(yr + c)
                var bp = b + c
                for l in 0..<depth {
                    s += V(repeating: ar[l]) * load(bp)
                    bp += bStride
                }
                store(s, yr + c)
                c += 8
            }
            while c < width {
                var s = yr[c]
                for l in 0..<depth { s += ar[l] * b[l * bStride + c] }
                yr[c] = s
                c += 1
            }
            r += 1
        }
    }

    /// Σ x[xOffset + i] · y[yOffset + i] for i in 0..<count, in float64.
    static func dot(_ x: [Double], _ xOffset: Int, _ y: [Double], _ yOffset: Int, count: Int) -> Double {
        guard count > 0 else { return 0 }
        precondition(xOffset >= 0 && yOffset >= 0 && xOffset + count <= x.count && yOffset + count <= y.count)
        return x.withUnsafeBufferPointer { xb in
            y.withUnsafeBufferPointer { yb in
                let xp = xb.baseAddress! + xOffset, yp = yb.baseAddress! + yOffset
                typealias V = SIMD4<Double>
                var s0 = V(), s1 = V()
                var i = 0
                while i + 8 <= count {
                    s0 += UnsafeRawPointer(xp + i).loadUnaligned(as: V.self) * UnsafeRawPointer(yp + i).loadUnaligned(as: V.self)
                    s1 += UnsafeRawPointer(xp + i + 4).loadUnaligned(as: V.self) * UnsafeRawPointer(yp + i + 4).loadUnaligned(as: V.self)
                    i += 8
                }
                var s = (s0 + s1).sum()
                while i < count {
                    s += xp[i] * yp[i]
                    i += 1
                }
                return s
            }
        }
    }

    /// x[to + i] += alpha · x[from + i] for i in 0..<count, in float64; the ranges do not overlap.
    static func addScaled(_ alpha: Double, within x: inout [Double], from: Int, to: Int, count: Int) {
        guard count > 0 else { return }
        precondition(from >= 0 && to >= 0 && from + count <= x.count && to + count <= x.count)
        precondition(from + count <= to || to + count <= from)
        x.withUnsafeMutableBufferPointer { buffer in
            let xp = buffer.baseAddress! + from, yp = buffer.baseAddress! + to
            typealias V = SIMD4<Double>
            let va = V(repeating: alpha)
            var i = 0
            while i + 4 <= count {
                let v = UnsafeRawPointer(yp + i).loadUnaligned(as: V.self) + va * UnsafeRawPointer(xp + i).loadUnaligned(as: V.self)
                UnsafeMutableRawPointer(yp + i).storeBytes(of: v, as: V.self)
                i += 4
            }
            while i < count {
                yp[i] += alpha * xp[i]
                i += 1
            }
        }
    }
}
