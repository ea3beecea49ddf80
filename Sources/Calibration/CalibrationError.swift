/// A calibration that cannot run on this model or data, phrased for one line of stderr.
public struct CalibrationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
