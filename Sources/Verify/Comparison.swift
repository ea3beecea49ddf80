import Runtime

/// Fidelity of one output against a reference: how far apart, and whether the direction and
/// the top class survive. Rows are all axes but the last; cosine is taken per row.
public struct OutputComparison: Sendable {
    public var output: String
    public var shape: [Int]
    public var maxAbsError: Double
    public var meanCosine: Double
    public var minCosine: Double
    /// Fraction of rows whose argmax over the last axis agrees; nil when there is no class
    /// axis (rank < 2 or a last axis of 1).
    public var top1Agreement: Double?
    public var rows: Int
    /// NaN and infinite values in our output and in the reference's. Any is a failure: the
    /// metrics above cannot tell agreement from two outputs that are both NaN, so they are
    /// NaN too.
    public var nonFiniteOurs: Int
    public var nonFiniteReference: Int
    public var isFinite: Bool { nonFiniteOurs == 0 && nonFiniteReference == 0 }

    /// Accumulates rows over several inputs.
    struct Accumulator {
        var maxAbsError = 0.0
        var cosineSum = 0.0
        var minCosine = 1.0
        var rows = 0
        var top1Agree = 0
        var top1Rows = 0
        var hasClassAxis = true
        var shape: [Int] = []
        var nonFiniteOurs = 0
        var nonFiniteReference = 0

        mutating func add(_ ours: Tensor, _ reference: Tensor) throws {
            guard ours.shape == reference.shape else {
                throw VerifyError("output shapes differ: \(ours.shape) against the reference's \(reference.shape)")
            }
            shape = ours.shape
            let a = ours.floatValues(), b = reference.floatValues()
            nonFiniteOurs += a.count { !$0.isFinite }
            nonFiniteReference += b.count { !$0.isFinite }
            let width = max(ours.shape.last ?? 1, 1)
            hasClassAxis = hasClassAxis && ours.shape.count >= 2 && width > 1
            for i in 0..<a.count { maxAbsError = max(maxAbsError, Double(abs(a[i] - b[i]))) }
            var start = 0
            while start + width <= a.count {
                var dot = 0.0, na = 0.0, nb = 0.0
                var bestA = start, bestB = start
                for i in start..<(start + width) {
                    let x = Double(a[i]), y = Double(b[i])
                    dot += x * y
                    na += x * x
                    nb += y * y
                    if a[i] > a[bestA] { bestA = i }
                    if b[i] > b[bestB] { bestB = i }
                }
                // Two zero rows point the same way; one zero row against a non-zero one does not.
                let cosine = na == 0 && nb == 0 ? 1 : (na == 0 || nb == 0 ? 0 : dot / (na.squareRoot() * nb.squareRoot()))
                cosineSum += cosine.isNaN ? 0 : cosine
                minCosine = min(minCosine, cosine.isNaN ? 0 : cosine)
                rows += 1
                if bestA == bestB { top1Agree += 1 }
                top1Rows += 1
                start += width
            }
            if a.contains(where: { $0.isNaN }) != b.contains(where: { $0.isNaN }) { maxAbsError = .infinity }
        }

        func result(_ name: String) -> OutputComparison {
            let finite = nonFiniteOurs == 0 && nonFiniteReference == 0
            return OutputComparison(output: name, shape: shape, maxAbsError: finite ? maxAbsError : .nan,
                                    meanCosine: !finite ? .nan : rows > 0 ? cosineSum / Double(rows) : 1,
                                    minCosine: !finite ? .nan : rows > 0 ? minCosine : 1,
                                    top1Agreement: finite && hasClassAxis && top1Rows > 0 ? Double(top1Agree) / Double(top1Rows) : nil, rows: rows,
                                    nonFiniteOurs: nonFiniteOurs, nonFiniteReference: nonFiniteReference)
        }
    }
}

/// How a converted op's popcount output compares with the simulated reference on the same
/// input: the pass/fail check of `verify`.
public struct OpCheck: Sendable {
    public var node: String
    public var mode: String
    public var n: Int
    public var k: Int
    /// The largest `SimulatedReference.relativeError` of any run: max |kernel − reference| /
    /// max |reference| (infinite when the reference is all zeros and the kernel is not).
    public var maxRelativeError: Double
    public var outputMagnitude: Double
    /// NaN and infinite values in the kernel's output or the reference's: a failure, since
    /// two NaN outputs compare as equal to nothing.
    public var nonFinite: Int = 0
    public var passed: Bool

    /// float32 rounding of the output's magnitude: the kernels and the reference round the
    /// same float64 product once, so only the last bit may differ.
    public static let tolerance = 1e-6
}

public struct VerifyError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
