/// How a session computes the float products of a source model: Gemm and MatMul, and the
/// scores and weighted sums of attention.
public enum FloatProducts: String, Sendable, CaseIterable {
    /// float32 operands, float64 sums: the oracle `verify` compares converted models with.
    case reference
    /// float32 throughout, by OpenBLAS's sgemm: about two orders of magnitude faster, for
    /// running a float model over many tokens (calibration). A weight stored in a block type
    /// (Q4_1, Q8_0, …) or as f16/bf16 is widened to float32 once per compiled model for it, so
    /// this path costs 4 bytes per weight of memory. Agrees with `reference` to float32
    /// rounding of the sums (relative 1e-5 to 1e-4 of a model's logits).
    case fast
}
