import Foundation
import Graph
import Runtime
import Tensors

/// One segment of a transformer (`ReconstructionSegment`) as a small differentiable program:
/// it runs forward on one sequence's rows [T, width] in float32 and propagates a gradient of
/// its output back to its input and to the weights of its products. Block-wise
/// reconstruction trains the converted matrices' scales through it.
///
/// It knows the ops a decoder or BERT block is built of (Gemm with transB, RMSNorm,
/// LayerNormalization over the last axis, RotaryEmbedding, causal or bidirectional Attention,
/// Hadamard, Add, Mul, Sigmoid, Relu, Gelu), each as the runtime's kernel defines it. A
/// sequence is at positions 0 ..< T, as calibration runs it.
struct SegmentProgram {
    enum Op {
        /// x · Wᵀ (+ bias), W [n, k] named by `weight`.
        case gemm(x: Int, weight: String, bias: [Float]?, n: Int, k: Int)
        case rmsNorm(x: Int, weight: [Float], epsilon: Double)
        case layerNorm(x: Int, weight: [Float], bias: [Float], epsilon: Double)
        case rotary(x: Int, headDim: Int, inverseFrequencies: [Float], interleaved: Bool)
        case attention(q: Int, k: Int, v: Int, heads: Int, kvHeads: Int, headDim: Int, scale: Float, causal: Bool)
        /// Each group of `size` values becomes M · x with M = H / √size, held dense.
        case hadamard(x: Int, matrix: [Float], size: Int)
        case add(Int, Int)
        case mul(Int, Int)
        case sigmoid(Int)
        case relu(Int)
        /// x·Φ(x) with erf, or by the tanh approximation.
        case gelu(Int, tanh: Bool)
    }

    struct Step {
        var op: Op
        var width: Int
    }

    /// Value 0 is the segment's input; step i writes value i + 1.
    let inputWidth: Int
    let steps: [Step]
    /// The weights of the segment's products with their shapes.
    let weights: [String: (n: Int, k: Int)]

    var outputWidth: Int { steps.last?.width ?? inputWidth }

    /// The bytes a forward run of `tokens` keeps for the backward run's attention
    /// probabilities ([heads, T, T] float32 per attention step), or nil past Int.
    func probabilityBytes(tokens: Int) -> Int? {
        var total = 0
        for step in steps {
            guard case .attention(_, _, _, let heads, _, _, _, _) = step.op else { continue }
            guard let square = Checked.multiply(tokens, tokens), let perStep = Checked.multiply(square, heads),
                  let bytes = Checked.multiply(perStep, MemoryLayout<Float>.stride), let sum = Checked.add(total, bytes) else { return nil }
            total = sum
        }
        return total
    }

    /// The values of one forward run, and what the backward run needs beside them.
    struct Tape {
        var tokens: Int
        var values: [[Float]]
        /// Per attention step, each head's softmax probabilities [heads, T, T].
        var probabilities: [Int: [Float]] = [:]
        var output: [Float] { values[values.count - 1] }
    }

    enum ProgramError: Error, CustomStringConvertible {
        case unsupported(String)
        var description: String { switch self { case .unsupported(let s): s } }
    }

    /// The program of `nodes`, whose values are `input` (of `inputWidth` columns), graph
    /// inputs named in `positions`, constants of `constants`, or earlier nodes' outputs.
    init(nodes: [Node], input: String, inputWidth: Int, constants: [String: ConstantTensor], positions: String) throws {
        var slot: [String: Int] = [input: 0]
        var widths = [inputWidth]
        var steps: [Step] = []
        var weights: [String: (n: Int, k: Int)] = [:]
        func value(_ name: String, of node: Node) throws -> Int {
            guard let s = slot[name] else { throw ProgramError.unsupported("\(node.opType) '\(node.name)' reads '\(name)', which is not computed in the segment") }
            return s
        }
        func int(_ node: Node, _ name: String) -> Int? { if case .int(let v) = node.attribute(name) { Int(v) } else { nil } }
        func float(_ node: Node, _ name: String) -> Float? { if case .float(let v) = node.attribute(name) { v } else { nil } }
        for node in nodes {
            guard node.outputs.count == 1, let output = node.outputs.first, !output.isEmpty else {
                throw ProgramError.unsupported("\(node.opType) '\(node.name)' has \(node.outputs.count) outputs")
            }
            // The project's own ops live in its domain; the rest are ONNX's.
            let ownOps: Set<String> = ["RMSNorm", "RotaryEmbedding", "Attention", "Hadamard"]
            let expected = ownOps.contains(node.opType) ? [XNORPopcountGemmNode.domain] : ["", "ai.onnx"]
            guard expected.contains(node.domain) else {
                throw ProgramError.unsupported("\(node.domain.isEmpty ? "" : node.domain + ".")\(node.opType) '\(node.name)' has no backward pass here")
            }
            let op: Op
            let width: Int
            switch (node.opType, node.inputs.count) {
            case ("Gemm", 2), ("Gemm", 3):
                guard int(node, "transB") == 1, (int(node, "transA") ?? 0) == 0, float(node, "alpha") ?? 1 == 1, float(node, "beta") ?? 1 == 1,
                      let w = constants[node.inputs[1]], w.shape.count == 2, w.packedTernary == nil else {
                    throw ProgramError.unsupported("Gemm '\(node.name)' is not x · Wᵀ of a float constant W")
                }
                let x = try value(node.inputs[0], of: node)
                let (n, k) = (w.shape[0], w.shape[1])
                guard widths[x] == k else { throw ProgramError.unsupported("Gemm '\(node.name)' reads \(widths[x]) columns into a [\(n), \(k)] weight") }
                var bias: [Float]? = nil
                if node.inputs.count == 3, !node.inputs[2].isEmpty {
                    guard let b = constants[node.inputs[2]], b.elementCount == n else { throw ProgramError.unsupported("Gemm '\(node.name)' has a bias that is not a constant of \(n) values") }
                    bias = try b.floatValues()
                }
                weights[w.name] = (n, k)
                op = .gemm(x: x, weight: w.name, bias: bias, n: n, k: k)
                width = n
            case ("RMSNorm", 2):
                guard let w = constants[node.inputs[1]], w.shape.count == 1 else { throw ProgramError.unsupported("RMSNorm '\(node.name)' has no constant weight") }
                let x = try value(node.inputs[0], of: node)
                let offset = float(node, "weight_offset") ?? 0
                guard widths[x] % w.elementCount == 0 else { throw ProgramError.unsupported("RMSNorm '\(node.name)': width \(widths[x]) is not a multiple of \(w.elementCount)") }
                op = .rmsNorm(x: x, weight: try w.floatValues().map { Float(Double($0) + Double(offset)) }, epsilon: Double(float(node, "epsilon") ?? 1e-6))
                width = widths[x]
            case ("RotaryEmbedding", 2):
                guard node.inputs[1] == positions, let headDim = int(node, "head_dim"), headDim > 0, headDim % 2 == 0,
                      case .floats(let frequencies) = node.attribute("inv_freq"), frequencies.count * 2 == headDim else {
                    throw ProgramError.unsupported("RotaryEmbedding '\(node.name)' is not a full rotation at the sequence's positions")
                }
                let x = try value(node.inputs[0], of: node)
                guard widths[x] % headDim == 0 else { throw ProgramError.unsupported("RotaryEmbedding '\(node.name)': width \(widths[x]) is not a multiple of \(headDim)") }
                op = .rotary(x: x, headDim: headDim, inverseFrequencies: frequencies, interleaved: (int(node, "interleaved") ?? 0) != 0)
                width = widths[x]
            case ("LayerNormalization", 3):
                guard int(node, "axis") ?? -1 == -1, int(node, "stash_type") ?? 1 == 1,
                      let w = constants[node.inputs[1]], w.shape.count == 1, let b = constants[node.inputs[2]], b.elementCount == w.elementCount else {
                    throw ProgramError.unsupported("LayerNormalization '\(node.name)' is not over the last axis with constant scale and bias")
                }
                let x = try value(node.inputs[0], of: node)
                guard widths[x] == w.elementCount else { throw ProgramError.unsupported("LayerNormalization '\(node.name)': width \(widths[x]) is not \(w.elementCount)") }
                op = .layerNorm(x: x, weight: try w.floatValues(), bias: try b.floatValues(), epsilon: Double(float(node, "epsilon") ?? 1e-5))
                width = widths[x]
            case ("Attention", 3), ("Attention", 4):
                let causal = (int(node, "causal") ?? 1) != 0
                guard causal == (node.inputs.count == 4), !causal || node.inputs[3] == positions,
                      node.attribute("window") == nil, node.attribute("softcap") == nil,
                      let heads = int(node, "num_heads"), let kvHeads = int(node, "num_kv_heads"), let headDim = int(node, "head_dim"),
                      heads > 0, kvHeads > 0, headDim > 0, heads % kvHeads == 0 else {
                    throw ProgramError.unsupported("Attention '\(node.name)' is neither a plain causal attention at the sequence's positions nor a bidirectional one")
                }
                let q = try value(node.inputs[0], of: node), k = try value(node.inputs[1], of: node), v = try value(node.inputs[2], of: node)
                guard widths[q] == heads * headDim, widths[k] == kvHeads * headDim, widths[v] == kvHeads * headDim else {
                    throw ProgramError.unsupported("Attention '\(node.name)': q, k, v widths do not match its heads")
                }
                op = .attention(q: q, k: k, v: v, heads: heads, kvHeads: kvHeads, headDim: headDim,
                                scale: float(node, "scale") ?? Float(1 / Double(headDim).squareRoot()), causal: causal)
                width = heads * headDim
            case ("Hadamard", 1):
                guard let size = int(node, "size"), let transform = HadamardTransform(size: size), size <= 4096 else {
                    throw ProgramError.unsupported("Hadamard '\(node.name)' has no size this program holds dense")
                }
                let x = try value(node.inputs[0], of: node)
                guard widths[x] % size == 0 else { throw ProgramError.unsupported("Hadamard '\(node.name)': width \(widths[x]) is not a multiple of \(size)") }
                let norm = 1 / Double(size).squareRoot()
                var matrix = [Float](repeating: 0, count: size * size)
                for i in 0..<size { for j in 0..<size { matrix[i * size + j] = Float(Double(transform.entry(i, j)) * norm) } }
                op = .hadamard(x: x, matrix: matrix, size: size)
                width = widths[x]
            case ("Add", 2), ("Mul", 2):
                let a = try value(node.inputs[0], of: node), b = try value(node.inputs[1], of: node)
                guard widths[a] == widths[b] else { throw ProgramError.unsupported("\(node.opType) '\(node.name)' broadcasts") }
                op = node.opType == "Add" ? .add(a, b) : .mul(a, b)
                width = widths[a]
            case ("Gelu", 1):
                let approximate: String
                if case .string(let a) = node.attribute("approximate") { approximate = a } else { approximate = "none" }
                guard approximate == "none" || approximate == "tanh" else { throw ProgramError.unsupported("Gelu '\(node.name)' approximates by '\(approximate)'") }
                let x = try value(node.inputs[0], of: node)
                op = .gelu(x, tanh: approximate == "tanh")
                width = widths[x]
            case ("Sigmoid", 1), ("Relu", 1):
                let x = try value(node.inputs[0], of: node)
                op = node.opType == "Sigmoid" ? .sigmoid(x) : .relu(x)
                width = widths[x]
            default:
                throw ProgramError.unsupported("\(node.opType) '\(node.name)' has no backward pass here")
            }
            steps.append(Step(op: op, width: width))
            widths.append(width)
            slot[output] = widths.count - 1
        }
        self.inputWidth = inputWidth
        self.steps = steps
        self.weights = weights
    }

    // MARK: Forward

    /// The forward run on `input` [T, inputWidth], each product with `weights[name]` [n, k].
    func forward(_ input: [Float], weights: [String: [Float]]) throws -> Tape {
        let t = input.count / max(inputWidth, 1)
        var tape = Tape(tokens: t, values: [input])
        tape.values.reserveCapacity(steps.count + 1)
        for (i, step) in steps.enumerated() {
            var y = [Float](repeating: 0, count: t * step.width)
            let v = tape.values
            switch step.op {
            case .gemm(let x, let name, let bias, let n, let k):
                guard let w = weights[name], w.count == n * k else { throw ProgramError.unsupported("no [\(n), \(k)] values for weight '\(name)'") }
                try Self.gemm(FloatGemm(m: t, n: n, k: k, transB: true), v[x], 0, w, 0, &y, 0)
                if let bias { for r in 0..<t { for j in 0..<n { y[r * n + j] += bias[j] } } }
            case .rmsNorm(let x, let w, let epsilon):
                let g = w.count
                for start in stride(from: 0, to: y.count, by: g) {
                    let r = Self.inverseRMS(v[x], start, g, epsilon)
                    for j in 0..<g { y[start + j] = Float(Double(v[x][start + j]) * r) * w[j] }
                }
            case .layerNorm(let x, let w, let b, let epsilon):
                let g = w.count
                for start in stride(from: 0, to: y.count, by: g) {
                    let (mean, r) = Self.moments(v[x], start, g, epsilon)
                    for j in 0..<g { y[start + j] = Float((Double(v[x][start + j]) - mean) * r) * w[j] + b[j] }
                }
            case .rotary(let x, let headDim, let frequencies, let interleaved):
                Self.rotate(v[x], into: &y, tokens: t, width: step.width, headDim: headDim, frequencies: frequencies, interleaved: interleaved, inverse: false)
            case .attention(let q, let k, let vv, let heads, let kvHeads, let d, let scale, let causal):
                tape.probabilities[i] = try Self.attend(q: v[q], k: v[k], v: v[vv], out: &y, tokens: t, heads: heads, kvHeads: kvHeads, headDim: d,
                                                        scale: scale, causal: causal)
            case .hadamard(let x, let m, let size):
                try Self.gemm(FloatGemm(m: y.count / size, n: size, k: size, transB: true), v[x], 0, m, 0, &y, 0)
            case .add(let a, let b):
                for j in y.indices { y[j] = v[a][j] + v[b][j] }
            case .mul(let a, let b):
                for j in y.indices { y[j] = v[a][j] * v[b][j] }
            case .sigmoid(let x):
                for j in y.indices { y[j] = 1 / (1 + exp(-v[x][j])) }
            case .relu(let x):
                for j in y.indices { y[j] = max(v[x][j], 0) }
            case .gelu(let x, let tanh):
                for j in y.indices { y[j] = Float(Self.gelu(Double(v[x][j]), tanh: tanh).value) }
            }
            tape.values.append(y)
        }
        return tape
    }

    // MARK: Backward

    /// The gradients of a loss with ∂loss/∂output = `outputGradient`: for each weight in
    /// `trainable`, ∂loss/∂W [n, k], and ∂loss/∂input.
    func backward(_ tape: Tape, outputGradient: [Float], weights: [String: [Float]], trainable: Set<String>) throws
        -> (weights: [String: [Float]], input: [Float]) {
        let t = tape.tokens
        let v = tape.values
        var grads = [[Float]?](repeating: nil, count: v.count)
        grads[v.count - 1] = outputGradient
        var weightGrads: [String: [Float]] = [:]
        func accumulate(_ slot: Int, _ body: (inout [Float]) throws -> Void) rethrows {
            var g = grads[slot] ?? [Float](repeating: 0, count: v[slot].count)
            try body(&g)
            grads[slot] = g
        }
        for i in steps.indices.reversed() {
            guard let dy = grads[i + 1] else { continue }
            grads[i + 1] = nil
            let step = steps[i]
            switch step.op {
            case .gemm(let x, let name, _, let n, let k):
                guard let w = weights[name] else { throw ProgramError.unsupported("no values for weight '\(name)'") }
                try accumulate(x) { try Self.gemm(FloatGemm(m: t, n: k, k: n), dy, 0, w, 0, &$0, 0, beta: 1) }
                if trainable.contains(name) {
                    var dw = weightGrads[name] ?? [Float](repeating: 0, count: n * k)
                    try Self.gemm(FloatGemm(m: n, n: k, k: t, transA: true), dy, 0, v[x], 0, &dw, 0, beta: 1)
                    weightGrads[name] = dw
                }
            case .rmsNorm(let x, let w, let epsilon):
                let g = w.count
                accumulate(x) { dx in
                    for start in stride(from: 0, to: dy.count, by: g) {
                        let r = Self.inverseRMS(v[x], start, g, epsilon)
                        var dot = 0.0
                        for j in 0..<g { dot += Double(dy[start + j] * w[j]) * Double(v[x][start + j]) }
                        let c = r * r * r * dot / Double(g)
                        for j in 0..<g {
                            dx[start + j] += Float(r * Double(dy[start + j] * w[j]) - c * Double(v[x][start + j]))
                        }
                    }
                }
            case .layerNorm(let x, let w, _, let epsilon):
                let g = w.count
                accumulate(x) { dx in
                    for start in stride(from: 0, to: dy.count, by: g) {
                        let (mean, r) = Self.moments(v[x], start, g, epsilon)
                        // dx = r · (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)), ĝ = dy ⊙ w.
                        var sum = 0.0, dot = 0.0
                        for j in 0..<g {
                            let gj = Double(dy[start + j] * w[j])
                            sum += gj
                            dot += gj * (Double(v[x][start + j]) - mean) * r
                        }
                        for j in 0..<g {
                            let normalized = (Double(v[x][start + j]) - mean) * r
                            dx[start + j] += Float(r * (Double(dy[start + j] * w[j]) - sum / Double(g) - normalized * dot / Double(g)))
                        }
                    }
                }
            case .rotary(let x, let headDim, let frequencies, let interleaved):
                var back = [Float](repeating: 0, count: dy.count)
                Self.rotate(dy, into: &back, tokens: t, width: step.width, headDim: headDim, frequencies: frequencies, interleaved: interleaved, inverse: true)
                accumulate(x) { dx in for j in dx.indices { dx[j] += back[j] } }
            case .attention(let q, let k, let vv, let heads, let kvHeads, let d, let scale, let causal):
                guard let p = tape.probabilities[i] else { throw ProgramError.unsupported("attention step \(i) kept no probabilities") }
                var dq = grads[q] ?? [Float](repeating: 0, count: v[q].count)
                var dk = grads[k] ?? [Float](repeating: 0, count: v[k].count)
                var dv = grads[vv] ?? [Float](repeating: 0, count: v[vv].count)
                try Self.attendBackward(dy, p: p, q: v[q], k: v[k], v: v[vv], dq: &dq, dk: &dk, dv: &dv,
                                        tokens: t, heads: heads, kvHeads: kvHeads, headDim: d, scale: scale, causal: causal)
                grads[q] = dq
                grads[k] = dk
                grads[vv] = dv
            case .hadamard(let x, let m, let size):
                try accumulate(x) { try Self.gemm(FloatGemm(m: dy.count / size, n: size, k: size), dy, 0, m, 0, &$0, 0, beta: 1) }
            case .add(let a, let b):
                accumulate(a) { for j in $0.indices { $0[j] += dy[j] } }
                accumulate(b) { for j in $0.indices { $0[j] += dy[j] } }
            case .mul(let a, let b):
                accumulate(a) { for j in $0.indices { $0[j] += dy[j] * v[b][j] } }
                accumulate(b) { for j in $0.indices { $0[j] += dy[j] * v[a][j] } }
            case .sigmoid(let x):
                let s = v[i + 1]
                accumulate(x) { for j in $0.indices { $0[j] += dy[j] * s[j] * (1 - s[j]) } }
            case .relu(let x):
                accumulate(x) { for j in $0.indices where v[x][j] > 0 { $0[j] += dy[j] } }
            case .gelu(let x, let tanh):
                accumulate(x) { for j in $0.indices { $0[j] += dy[j] * Float(Self.gelu(Double(v[x][j]), tanh: tanh).derivative) } }
            }
        }
        return (weightGrads, grads[0] ?? [Float](repeating: 0, count: v[0].count))
    }
}
