/// IsNaN and IsInf: float32 in, bool out. Exporters emit IsNaN around attention softmax to
/// zero the rows whose every key is masked.
struct FloatClassKernel: OpKernel {
    let opType: String
    let test: @Sendable (Float) -> Bool

    func outputTypes(for inputs: [KernelInput?]) throws -> [TensorType] {
        let x = try inputs.required(0).type
        guard x.elementType == .float32 else { throw OpError("\(opType) of \(x.elementType) is not supported") }
        return [TensorType(.bool, x.shape)]
    }

    func run(inputs: [Tensor?], outputs: inout [Tensor]) throws {
        try ElementLoops.map(try inputs.required(0), into: &outputs[0], test)
    }

    static func register(in registry: inout OpRegistry) {
        registry.register("IsNaN") { setup in
            try setup.expect(inputs: 1...1)
            _ = try setup.attributes(allowed: [])
            return FloatClassKernel(opType: "IsNaN") { $0.isNaN }
        }
        registry.register("IsInf") { setup in
            try setup.expect(inputs: 1...1)
            let attributes = try setup.attributes(allowed: ["detect_negative", "detect_positive"])
            let negative = try attributes.flag("detect_negative", default: true)
            let positive = try attributes.flag("detect_positive", default: true)
            return FloatClassKernel(opType: "IsInf") { x in
                x.isInfinite && (x < 0 ? negative : positive)
            }
        }
    }
}
