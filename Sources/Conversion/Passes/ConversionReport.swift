import Graph
/// What a conversion did with each weight product, and why.
///
/// Printed after `xnor convert` and written with `--report FILE.json`, so a user can see
/// which MatMul/Gemm ops became popcount ops and what kept the others at source precision.
public struct ConversionReport: Sendable {
    public enum Decision: String, Sendable {
        case converted
        case kept
    }

    public struct Entry: Sendable {
        public var node: String
        public var opType: String
        /// The constant weight operand, when there is one.
        public var weight: String?
        public var decision: Decision
        /// Why the op was kept, or what was folded into the converted op.
        public var reason: String
        /// [N, K] of the converted product.
        public var n: Int?
        public var k: Int?
    }

    public var mode: String
    public var entries: [Entry] = []

    public init(mode: String) {
        self.mode = mode
    }

    public var convertedCount: Int { entries.filter { $0.decision == .converted }.count }
    public var keptCount: Int { entries.filter { $0.decision == .kept }.count }
}
