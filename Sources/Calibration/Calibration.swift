import BitPacking

/// What calibration learned about the inputs of one converted matrix W [N, K]: the inputs
/// x (rows of K values) that the float model fed it on the calibration data.
public struct InputStatistics: Sendable {
    /// K, the inputs per row.
    public var k: Int
    /// How many input rows (tokens) were accumulated.
    public var rows: Int
    /// H = Σ xᵀx over the rows, [K, K] row-major, symmetric, in float64.
    public var hessian: [Double]

    public init(k: Int, rows: Int, hessian: [Double]) {
        self.k = k
        self.rows = rows
        self.hessian = hessian
    }
}

/// Chooses the codes and scales of one weight matrix in a format: from the weights alone
/// (`statistics` nil: round to nearest, scales refined on the weights) or with the input
/// statistics (error compensation, scales refined on the outputs).
public protocol MatrixQuantizer: Sendable {
    /// `weights`: W [N, K] row-major float32, finite.
    func quantize(_ weights: [Float], n: Int, k: Int, format: WeightFormat, statistics: InputStatistics?) throws -> QuantizedMatrix
}
