import BitPacking

/// Why a quantizer refused a matrix: one line, naming the field and what is wrong.
public enum QuantizerFailure: Error, CustomStringConvertible, Equatable {
    case unsupportedFormat(WeightFormat, String)
    case shape(String)
    case statistics(String)

    public var description: String {
        switch self {
        case .unsupportedFormat(let format, let why): "format \(format.name): \(why)"
        case .shape(let why): "weights: \(why)"
        case .statistics(let why): "statistics: \(why)"
        }
    }
}

/// The checks every quantizer makes before touching the data.
enum QuantizerInput {
    static func check(_ weights: [Float], n: Int, k: Int, format: WeightFormat, statistics: InputStatistics?) throws(QuantizerFailure) -> QuantizerGroups {
        guard n > 0, k > 0 else { throw .shape("shape [\(n), \(k)] is empty") }
        let (count, overflow) = n.multipliedReportingOverflow(by: k)
        guard !overflow, count == weights.count else { throw .shape("\(weights.count) values for shape [\(n), \(k)]") }
        if let bad = weights.firstIndex(where: { !$0.isFinite }) { throw .shape("weights[\(bad / k), \(bad % k)] is not finite") }
        try format.checkQuantizable()
        if let statistics {
            guard statistics.k == k else { throw .statistics("k \(statistics.k) for a matrix of \(k) inputs") }
            guard statistics.hessian.count == k * k else { throw .statistics("hessian has \(statistics.hessian.count) values, expected \(k)×\(k)") }
            if let bad = statistics.hessian.firstIndex(where: { !$0.isFinite }) {
                throw .statistics("hessian[\(bad / k), \(bad % k)] is not finite")
            }
        }
        return try format.quantizerGroups(k: k)
    }
}
