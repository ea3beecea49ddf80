import COpenBLAS
import Tensors

/// Σ xᵀx over the rows of one activation, and per column Σ |x| and max |x|.
///
/// Each call's rows are summed by OpenBLAS's ssyrk in float32 (one call is a few hundred
/// rows), then added into the float64 total, so rounding does not grow with the number of
/// sequences. Measured with OpenBLAS on this project's 2-core machine, 512 rows of 1536: ssyrk
/// and the float64 add took 15 CPU-ms, widening to float64 and dsyrk 28 (576: 2 against 4).
final class GramAccumulator {
    let k: Int
    private(set) var rows = 0
    /// The upper triangle, row-major [K, K]; `statistics` mirrors it.
    private var total: [Double]
    private var sumAbsolute: [Double]
    private var maximumAbsolute: [Double]

    /// One call's float32 sum, K × K at most: shared by every accumulator of a collection (one
    /// adds at a time), so the float32 side costs the largest K², not the sum over inputs.
    final class Scratch {
        var values: [Float] = []
    }
    private let scratch: Scratch

    init(k: Int, scratch: Scratch = Scratch()) throws {
        guard k > 0, k <= Int(Int32.max), let square = Checked.multiply(k, k) else {
            throw CalibrationError("an input of \(k) columns is too wide for a Hessian")
        }
        self.k = k
        self.scratch = scratch
        total = [Double](repeating: 0, count: square)
        sumAbsolute = [Double](repeating: 0, count: k)
        maximumAbsolute = [Double](repeating: 0, count: k)
    }

    /// Adds the rows of x: `x` holds `count` rows of K (or, `transposed`, K rows of `count`:
    /// Gemm's transA, whose rows are the columns).
    func add(_ x: UnsafeBufferPointer<Float>, rows count: Int, transposed: Bool) throws {
        guard count >= 0, count <= Int(Int32.max), x.count == count &* k else {
            throw CalibrationError("an input of \(x.count) values is not \(count) rows of \(k)")
        }
        guard count > 0, let base = x.baseAddress else { return }
        let k = self.k
        if scratch.values.count < k &* k { scratch.values = [Float](repeating: 0, count: k &* k) }
        scratch.values.withUnsafeMutableBufferPointer { c in
            xnor_ssyrk_upper(!transposed, Int32(k), Int32(count), 1, base, Int32(transposed ? count : k), 0, c.baseAddress, Int32(k))
        }
        scratch.values.withUnsafeBufferPointer { c in
            total.withUnsafeMutableBufferPointer { t in
                for i in 0..<k {
                    for j in i..<k { t[i &* k &+ j] += Double(c[i &* k &+ j]) }
                }
            }
        }
        // Through buffers: element-wise access to a class's arrays pays an exclusivity check each.
        sumAbsolute.withUnsafeMutableBufferPointer { sum in
            maximumAbsolute.withUnsafeMutableBufferPointer { maximum in
                for r in 0..<count {
                    for column in 0..<k {
                        let magnitude = Double(abs(transposed ? x[column &* count &+ r] : x[r &* k &+ column]))
                        sum[column] += magnitude
                        if magnitude > maximum[column] { maximum[column] = magnitude }
                    }
                }
            }
        }
        rows += count
    }

    /// The statistics, H symmetric. The accumulator hands its storage over: call it once, last.
    func finish() -> InputStatistics {
        var hessian = total
        total = []
        for i in 0..<k {
            for j in 0..<i { hessian[i * k + j] = hessian[j * k + i] }
        }
        let mean = rows == 0 ? sumAbsolute : sumAbsolute.map { $0 / Double(rows) }
        return InputStatistics(k: k, rows: rows, hessian: hessian, meanAbsolute: mean, maximumAbsolute: maximumAbsolute)
    }

    /// The sum of statistics over several inputs of one weight (a weight read by several
    /// products): H, rows and Σ |x| add, maxima take the larger.
    static func combined(_ parts: [InputStatistics]) -> InputStatistics {
        guard var result = parts.first else { return InputStatistics(k: 0, rows: 0, hessian: []) }
        for part in parts.dropFirst() {
            let before = result.rows
            result.rows += part.rows
            for i in result.hessian.indices { result.hessian[i] += part.hessian[i] }
            for c in 0..<result.k {
                let sum = result.meanAbsolute[c] * Double(before) + part.meanAbsolute[c] * Double(part.rows)
                result.meanAbsolute[c] = result.rows == 0 ? 0 : sum / Double(result.rows)
                result.maximumAbsolute[c] = max(result.maximumAbsolute[c], part.maximumAbsolute[c])
            }
        }
        return result
    }
}
