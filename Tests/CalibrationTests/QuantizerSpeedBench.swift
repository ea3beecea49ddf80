import BitPacking
import Calibration
import Foundation
import Testing

/// Not a test: the time of GPTQ + ARB at b3g192 on each SmolLM2-135M matrix shape (random
/// weights, an AR(1) Hessian), in CPU seconds. Runs only with XNOR_QUANTIZER_BENCH=1, in release:
///
///     XNOR_QUANTIZER_BENCH=1 swift test -c release -Xswiftc -enable-testing --filter QuantizerSpeedBench
@Suite(.enabled(if: ProcessInfo.processInfo.environment["XNOR_QUANTIZER_BENCH"] == "1"))
struct QuantizerSpeedBench {
    static let shapes = [("q", 576, 576), ("k", 192, 576), ("v", 192, 576), ("o", 576, 576), ("gate", 1536, 576), ("up", 1536, 576), ("down", 576, 1536)]

    static func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    static func toeplitz(k: Int) -> InputStatistics {
        var h = [Double](repeating: 0, count: k * k)
        for i in 0..<k {
            for j in 0..<k { h[i * k + j] = 1000 * pow(0.8, Double(abs(i - j))) }
        }
        return InputStatistics(k: k, rows: 1000, hessian: h)
    }

    @Test(arguments: [GPTQQuantizer.ColumnOrder.natural, .descendingActivation])
    func smolLM2Layer(_ order: GPTQQuantizer.ColumnOrder) throws {
        var random = TestRandom(state: 1)
        var layer = 0.0
        for (name, n, k) in Self.shapes {
            let weights = random.weights(n: n, k: k)
            let statistics = Self.toeplitz(k: k)
            let start = Self.cpuSeconds()
            _ = try GPTQQuantizer(order: order).quantize(weights, n: n, k: k, format: .binary(planes: 3, group: 192), statistics: statistics)
            let seconds = Self.cpuSeconds() - start
            layer += seconds
            print("GPTQ b3g192 \(order) \(name) [\(n), \(k)]: \(String(format: "%.2f", seconds)) s")
        }
        print("GPTQ b3g192 \(order): one layer \(String(format: "%.2f", layer)) s, 30 layers ≈ \(String(format: "%.0f", 30 * layer)) s")
    }
}
