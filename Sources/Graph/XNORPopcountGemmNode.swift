/// The graph-level contract of the XNORPopcountGemm op (formats/XNORPopcountGemm.md).
///
/// Y[..., n] = alpha · (popcount product of X[..., :] with weight row n) + bias[n].
/// Input 0 is the activation X [..., K]; input 1, when present, the bias [N]. The weight is
/// not an input but the attribute `weight`: before packing it names the source float
/// constant (in the layout `weight_layout` says); after packing, the base name of the planes
/// and scales the .xnor file stores. Keeping it out of the inputs lets the packed graph stay
/// a valid graph whose every input is a value.
public enum XNORPopcountGemmNode {
    public static let opType = "XNORPopcountGemm"
    public static let domain = "xnorkit"

    public enum Attribute {
        /// `w1a1`, `w1a8` or `w1.58a8`: the activation mode, and the weight format when
        /// `weight_format` is absent.
        public static let mode = "mode"
        /// The weight format's name (`b2g128`, `t1g128`, …); absent for the legacy formats.
        public static let weightFormat = "weight_format"
        public static let weight = "weight"
        /// "kn" when the source weight is [K, N] (ONNX MatMul's B), "nk" when it is [N, K].
        public static let weightLayout = "weight_layout"
        public static let n = "n"
        public static let k = "k"
        public static let alpha = "alpha"
        /// The op the node replaced ("MatMul", "Gemm"), for reports.
        public static let sourceOp = "source_op"
    }

    public static func isXNOR(_ node: Node) -> Bool {
        node.opType == opType && node.domain == domain
    }

    /// The `weight_format` attribute of a node, nil when absent (or not a string).
    public static func weightFormat(of node: Node) -> String? {
        if case .string(let name) = node.attribute(Attribute.weightFormat) { return name }
        return nil
    }

    /// The weight name of an XNORPopcountGemm node.
    public static func weight(of node: Node) -> String? {
        if case .string(let name) = node.attribute(Attribute.weight) { return name }
        return nil
    }
}
