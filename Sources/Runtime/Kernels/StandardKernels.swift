import Graph
/// Registers the ONNX ops of the reference executor.
func registerStandardKernels(_ registry: inout OpRegistry) {
    UnaryKernel.register(in: &registry)
    BinaryKernel.register(in: &registry)
    ReshapeKernel.register(in: &registry)
    registry.register("Gelu") { try GeluKernel($0) }
    registry.register("MatMul") { try MatMulKernel($0) }
    registry.register("Gemm") { try GemmKernel($0) }
    registry.register(EmbeddingKernel.opType, domain: XNORPopcountGemmNode.domain) { try EmbeddingKernel($0) }
    registry.register(RMSNormKernel.opType, domain: XNORPopcountGemmNode.domain) { try RMSNormKernel($0) }
    registry.register(RotaryEmbeddingKernel.opType, domain: XNORPopcountGemmNode.domain) { try RotaryEmbeddingKernel($0) }
    registry.register(AttentionKernel.opType, domain: XNORPopcountGemmNode.domain) { try AttentionKernel($0) }
    registry.register(HadamardKernel.opType, domain: XNORPopcountGemmNode.domain) { try HadamardKernel($0) }
    registry.register(BitLinearNode.opType, domain: BitLinearNode.domain) { try BitLinearKernel($0) }
    registry.register("Softmax") { try SoftmaxKernel($0) }
    registry.register("LayerNormalization") { try LayerNormalizationKernel($0) }
    registry.register("ReduceMean") { try ReduceKernel($0, "ReduceMean", .mean) }
    registry.register("ReduceSum") { try ReduceKernel($0, "ReduceSum", .sum) }
    registry.register("ReduceMax") { try ReduceKernel($0, "ReduceMax", .max) }
    registry.register("ReduceMin") { try ReduceKernel($0, "ReduceMin", .min) }
    registry.register("Shape") { try ShapeKernel($0) }
    registry.register("Expand") { try ExpandKernel($0) }
    registry.register("Transpose") { try TransposeKernel($0) }
    registry.register("Gather") { try GatherKernel($0) }
    registry.register("Concat") { try ConcatKernel($0) }
    registry.register("Slice") { try SliceKernel($0) }
    registry.register("Split") { try SplitKernel($0) }
    registry.register("Where") { try WhereKernel($0) }
    registry.register("Constant") { try ConstantKernel($0) }
    registry.register("ConstantOfShape") { try ConstantOfShapeKernel($0) }
    registry.register("Range") { try RangeKernel($0) }
    registry.register("Cast") { try CastKernel($0) }
    TrigonometricKernels.register(in: &registry)
    FloatClassKernel.register(in: &registry)
    registry.register("GatherND") { try GatherNDKernel($0) }
    registry.register("GatherElements") { try GatherElementsKernel($0) }
    registry.register("CumSum") { try CumSumKernel($0) }
}
