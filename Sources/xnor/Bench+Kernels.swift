import ArgumentParser
import BitPacking
import Formats
import Tensors

extension Bench {
    /// One product of the kernel table: a shape, a weight format with its activation mode, M rows.
    struct KernelCase {
        var label: String
        var n: Int
        var k: Int
        var format: WeightFormat
        var activation: ActivationMode
        var m: Int
    }

    /// The kernel table: each product's median time, GB/s of packed weight bytes and binary
    /// GOPS (M · N · K · weight planes · activation planes bit products per second), beside the
    /// read-bandwidth and popcount ceilings measured in the same run.
    func benchKernels() throws {
        let pool = threadOptions.count > 1 ? WorkerPool(threads: threadOptions.count) : nil
        // With a scratch, as a session runs its products: the buffers are not allocated per product.
        let dispatch = KernelDispatch(pool: pool, scratch: ProductScratch())
        let bandwidth = KernelCeilings.readBandwidth(bytes: 1 << 30, repeats: repetitions, dispatch: dispatch)
        let peak = KernelCeilings.popcountPeak(repeats: repetitions, dispatch: dispatch)
        let formats: [(String, WeightFormat, ActivationMode)] = [
            ("w1a1", .w1, .a1), ("w1a8", .w1, .a8), ("w1.58a8", .w1_58, .a8),
            ("b1g64 a8", .binary(planes: 1, group: 64), .a8), ("b2g128 a8", .binary(planes: 2, group: 128), .a8),
            ("b3g192 a8", .binary(planes: 3, group: 192), .a8),
        ]
        var cases: [KernelCase] = []
        for (name, format, activation) in formats {
            for m in [1, 64] { cases.append(KernelCase(label: name, n: 4096, k: 4096, format: format, activation: activation, m: m)) }
        }
        // Beyond the caches: 32768 × 8192 (32 MiB per plane; within a large L3), and for the
        // one-plane formats N rows of 8192 filling twice the last-level cache, decode only.
        for (name, format, activation) in formats where ["w1a1", "w1a8", "b3g192 a8"].contains(name) {
            cases.append(KernelCase(label: name, n: 32768, k: 8192, format: format, activation: activation, m: 1))
        }
        let beyondRows = Self.rowsBeyondLastLevelCache(k: 8192)
        if beyondRows > 32768 {
            for (name, format, activation) in formats where ["w1a1", "w1a8"].contains(name) {
                cases.append(KernelCase(label: name, n: beyondRows, k: 8192, format: format, activation: activation, m: 1))
            }
        }
        var rows: [[(String, JSONValue)]] = []
        var random = SplitMix64(seed: 7)
        for c in cases {
            let packed = c.n > 32768 ? try RandomPlanes.weights(n: c.n, k: c.k, &random) : try PackedWeights.pack(Self.randomCodes(c, &random))
            var activations = PackedActivations()
            let x = (0..<(c.m * c.k)).map { _ in Float(Int(random.next() % 2001) - 1000) / 250 }
            try activations.pack(x, rows: c.m, k: c.k, mode: c.activation)
            var output = [Float](repeating: 0, count: c.m * c.n)
            var failure: Error?
            let seconds = KernelCeilings.median(repetitions) {
                do { try PopcountGemm.run(weights: packed, activations: activations, dispatch: dispatch, into: &output) } catch { failure = error }
            }
            if let failure { throw failure }
            let weightBytes = Double(packed.byteCount)
            let planes = Double(c.format.kind == .ternary ? 2 : c.format.planes) * Double(c.activation.planeCount)
            let binaryOps = Double(c.m) * Double(c.n) * Double(c.k) * planes
            let gbs = weightBytes / seconds / 1e9, gops = binaryOps / seconds / 1e9
            let beyondCache = c.n >= 32768
            rows.append([("shape", .string("\(c.n)x\(c.k)")), ("format", .string(c.label)), ("m", .int(Int64(c.m))),
                         ("kind", .string(c.m == 1 ? "gemv" : "gemm")), ("ms", .double(seconds * 1000)),
                         ("weight_gb_per_s", .double(gbs)), ("binary_gops", .double(gops)),
                         ("fraction_of_bandwidth", .double(gbs * 1e9 / bandwidth)), ("fraction_of_popcount_peak", .double(gops * 1e9 / peak)),
                         ("beyond_cache", .bool(beyondCache))])
        }
        if json {
            print(JSONWriter().string(.object([
                ("threads", .int(Int64(threadOptions.count))), ("isa", .string(KernelISA.best.rawValue)),
                ("read_bandwidth_gb_per_s", .double(bandwidth / 1e9)), ("popcount_peak_binary_gops", .double(peak / 1e9)),
                ("kernels", .array(rows.map { .object($0) })),
            ])))
            return
        }
        print("ceilings (\(KernelISA.best.rawValue), \(threadOptions.count) threads): read bandwidth \(String(format1: bandwidth / 1e9)) GB/s (1 GiB buffer), popcount peak \(String(format1: peak / 1e9)) binary GOPS (in cache)")
        print("| shape | format | M | ms | weight GB/s | binary GOPS | of bandwidth | of popcount peak |")
        print("|---|---|---|---|---|---|---|---|")
        for row in rows {
            let v = Dictionary(uniqueKeysWithValues: row)
            func d(_ key: String) -> Double { if case .double(let x) = v[key] { return x }; return 0 }
            func s(_ key: String) -> String { if case .string(let x) = v[key] { return x }; if case .int(let x) = v[key] { return "\(x)" }; return "" }
            print("| \(s("shape")) | \(s("format")) | \(s("m")) | \(String(format1: d("ms"))) | \(String(format1: d("weight_gb_per_s"))) | \(String(format1: d("binary_gops"))) | \(Int((d("fraction_of_bandwidth") * 100).rounded()))% | \(Int((d("fraction_of_popcount_peak") * 100).rounded()))% |")
        }
    }

    /// Random codes and scales of the case's format (scales exact in float16).
    /// Rows of K inputs whose one-plane packed weights fill twice the last-level cache (sysfs's
    /// largest cache level of cpu0; 32 MiB when it does not say).
    static func rowsBeyondLastLevelCache(k: Int) -> Int {
        var largest = 32 << 20
        for index in 0..<8 {
            guard let text = try? String(contentsOfFile: "/sys/devices/system/cpu/cpu0/cache/index\(index)/size", encoding: .utf8) else { continue }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            let scale = trimmed.hasSuffix("K") ? 1 << 10 : trimmed.hasSuffix("M") ? 1 << 20 : 1
            if let value = Int(trimmed.filter(\.isNumber)) { largest = max(largest, value * scale) }
        }
        // A cache reported past 1 GiB is taken as 1 GiB: the matrix stays within a bench's memory.
        let rowBytes = (BitLayout.rowStrideWords(k: k) ?? 1) * 8
        return (2 * min(largest, 1 << 30) + rowBytes - 1) / rowBytes
    }

    static func randomCodes(_ c: KernelCase, _ random: inout SplitMix64) -> QuantizedMatrix {
        let count = c.n * c.k
        let planes = c.format.kind == .ternary ? 1 : c.format.planes
        let codes: [[Int8]] = (0..<planes).map { _ in
            [Int8](unsafeUninitializedCapacity: count) { buffer, initialized in
                var word: UInt64 = 0
                for i in 0..<count {
                    if i % 32 == 0 { word = random.next() }
                    let bits = Int8(truncatingIfNeeded: (word >> UInt64((i % 32) * 2)) & 3)
                    buffer[i] = c.format.kind == .ternary ? min(bits, 2) - 1 : (bits & 1 == 0 ? -1 : 1)
                }
                initialized = count
            }
        }
        let scaleCount = c.format.traits.scaleCount(c.format, c.n, c.k)
        return QuantizedMatrix(format: c.format, n: c.n, k: c.k, codes: codes, scales: [Float](repeating: 0.5, count: scaleCount))
    }
}
