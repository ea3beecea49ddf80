/// How a session computes the float products of a source model: Gemm and MatMul, and the
/// scores and weighted sums of attention.
public enum FloatProducts: String, Sendable, CaseIterable {
    /// float32 operands, float64 sums: the oracle `verify` compares converted models with.
    case reference
    /// float32 throughout, by OpenBLAS's sgemm, for running a float model over many tokens
    /// (calibration): a 512-token SmolLM2-135M prompt took 3.9 CPU seconds against 60 for the
    /// reference. A weight stored in a block type (Q4_1, Q8_0, …) or as f16/bf16 is widened to
    /// float32 once per compiled model, so this path costs 4 bytes per weight of memory.
    /// Sliding-window attention layers keep the reference. On the fixture LLMs the logits
    /// agree with `reference` within relative 5e-7 (tests hold them to 1e-4).
    case fast
}
