/// The graph-level contract of the BitLinear op: BitNet's linear layer as transformers'
/// BitLinear and AutoBitLinear (offline) define it.
///
/// Y[m, n] = (Σ_k q[m, k] · W[n, k]) / s[m], with each activation row X[m, :] quantized by
/// DESIGN.md's a8 (absmax int8 per token: s = 127 / max(max_k |x_k|, 1e-5), q =
/// clamp(roundHalfEven(x · s), −128, 127), float32 decisions), the sum in float64. Input 0 is X
/// [..., K], input 1 the constant W [N, K] (Linear layout, typically BitNet's packed ternary
/// codes, whose values are γ · code). A row of X holding NaN or ±∞ gives a row of NaN. For
/// ternary W this is the w1.58·a8 product of DESIGN.md, so conversion in w1.58a8 keeps it.
public enum BitLinearNode {
    public static let opType = "BitLinear"
    public static let domain = XNORPopcountGemmNode.domain

    public static func isBitLinear(_ node: Node) -> Bool {
        node.opType == opType && node.domain == domain
    }
}
