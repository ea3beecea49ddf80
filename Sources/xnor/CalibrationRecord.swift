import Calibration
import Formats

/// The calibration errors a calibrated conversion writes into the .xnor, so that `verify
/// --html` can chart them beside the fidelity it measures: three metadata arrays of one entry
/// per calibrated matrix (its weight name, and its relative output error by rounding alone and
/// after compensation). Absent from an uncalibrated model.
enum CalibrationRecord {
    static let weightsKey = "xnor.calibration.weights"
    static let beforeKey = "xnor.calibration.error_before"
    static let afterKey = "xnor.calibration.error_after"
    /// The converted weights `--bits` kept at Q8_0: they count in the bits per converted weight.
    static let keptKey = "xnor.budget.kept_q8_0"

    static func metadata(_ result: CalibratedQuantization.Result) -> [(String, GGUFMetadataValue)] {
        let kept: [(String, GGUFMetadataValue)] = result.kept.isEmpty ? [] : [(keptKey, .array(GGUFArray(.string, result.kept.map { .string($0.weight) })))]
        let rows = result.matrices.filter { $0.roundToNearest.output != nil && $0.compensated.output != nil }
        guard !rows.isEmpty else { return kept }
        return kept + [
            (weightsKey, .array(GGUFArray(.string, rows.map { .string($0.weight) }))),
            (beforeKey, .array(GGUFArray(.float64, rows.map { .float64($0.roundToNearest.output ?? 0) }))),
            (afterKey, .array(GGUFArray(.float64, rows.map { .float64($0.compensated.output ?? 0) }))),
        ]
    }

    /// The weights `--bits` kept at Q8_0, from a model's metadata (empty when absent or not a
    /// list of names).
    static func kept(in metadata: [ModelFile.MetadataEntry]) -> [String] {
        let names = metadata.first { $0.key == keptKey }?.value.arrayValue ?? []
        let strings = names.compactMap(\.stringValue)
        return strings.count == names.count ? strings : []
    }

    /// weight → (before, after), from a model's metadata; empty when absent or not well formed
    /// (the record only feeds a chart, so a damaged one is left out rather than refused).
    static func errors(in metadata: [ModelFile.MetadataEntry]) -> [String: (before: Double, after: Double)] {
        func array(_ key: String) -> [JSONValue]? { metadata.first { $0.key == key }?.value.arrayValue }
        guard let names = array(weightsKey), let before = array(beforeKey), let after = array(afterKey),
              names.count == before.count, names.count == after.count else { return [:] }
        func number(_ value: JSONValue) -> Double? {
            switch value {
            case .double(let d): d
            case .float(let f): Double(f)
            case .int(let i): Double(i)
            default: nil
            }
        }
        var errors: [String: (before: Double, after: Double)] = [:]
        for (i, name) in names.enumerated() {
            guard let weight = name.stringValue, let b = number(before[i]), let a = number(after[i]) else { return [:] }
            errors[weight] = (b, a)
        }
        return errors
    }
}
