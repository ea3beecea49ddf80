#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cos and Sin, which rotary position embeddings (Llama) bring into exported graphs.
enum TrigonometricKernels {
    static func register(in registry: inout OpRegistry) {
        let functions: [(String, @Sendable (Float) -> Float)] = [
            // Through Double: the rounded result does not depend on the C library's float
            // argument reduction, which loses accuracy for large angles.
            ("Cos", { Float(cos(Double($0))) }),
            ("Sin", { Float(sin(Double($0))) }),
        ]
        for (op, function) in functions {
            registry.register(op) { setup in
                try setup.expect(inputs: 1...1)
                _ = try setup.attributes(allowed: [])
                return UnaryKernel(opType: op, float: function)
            }
        }
    }
}
