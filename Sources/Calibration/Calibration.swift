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
    /// Per input column: the mean of |x_k| over the rows (AWQ's activation scale), and the
    /// largest |x_k| (salient channels); empty when not collected.
    public var meanAbsolute: [Double]
    public var maximumAbsolute: [Double]

    public init(k: Int, rows: Int, hessian: [Double], meanAbsolute: [Double] = [], maximumAbsolute: [Double] = []) {
        self.k = k
        self.rows = rows
        self.hessian = hessian
        self.meanAbsolute = meanAbsolute
        self.maximumAbsolute = maximumAbsolute
    }
}

/// Chooses the codes and scales of one weight matrix in a format: from the weights alone
/// (`statistics` nil: round to nearest, scales refined on the weights) or with the input
/// statistics (error compensation, scales refined on the outputs).
public protocol MatrixQuantizer: Sendable {
    /// `weights`: W [N, K] row-major float32, finite.
    func quantize(_ weights: [Float], n: Int, k: Int, format: WeightFormat, statistics: InputStatistics?) throws -> QuantizedMatrix
}
