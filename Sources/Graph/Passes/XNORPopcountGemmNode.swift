/// The graph-level contract of the XNORPopcountGemm op (formats/XNORPopcountGemm.md).
///
/// Y[..., n] = alpha · (popcount product of X[..., :] with weight row n) + bias[n].
/// Input 0 is the activation X [..., K]; input 1 names the weight; input 2, when present,
/// the bias [N]. Before packing the weight is the source float constant in the layout
/// `weight_layout` says; after packing, input 1 is the base name of the packed planes and
/// scales that the .xnor file stores.
public enum XNORPopcountGemmNode {
    public static let opType = "XNORPopcountGemm"
    public static let domain = "xnorkit"

    public enum Attribute {
        public static let mode = "mode"
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
}
