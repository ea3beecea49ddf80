import ArgumentParser
import Tensors
import Formats
import Graph
import Runtime
import Verify
#if canImport(Glibc)
import Glibc
#endif

/// How a command gets the inputs of a graph: .npy files, or seeded random values.
struct InputOptions: ParsableArguments {
    @Option(name: .customLong("input"), help: ArgumentHelp("An input as FILE.npy (single-input graphs) or NAME=FILE.npy; repeat for several.", valueName: "[NAME=]FILE"))
    var inputs: [String] = []

    @Option(name: .customLong("random-inputs"), help: "Run on N random inputs (normal, mean 0, variance 1) instead of files.")
    var randomInputs: Int?

    @Option(help: "Seed of the random inputs or tokens, and of sampling with --temp (default 0).")
    var seed: UInt64?

    @Option(name: .customLong("dim"), help: ArgumentHelp("Size of a symbolic dimension for random inputs; repeat for several.", valueName: "NAME=SIZE"))
    var dims: [String] = []

    func validate() throws {
        if let n = randomInputs, n < 1 { throw ValidationError("--random-inputs must be at least 1") }
        if randomInputs != nil && !inputs.isEmpty { throw ValidationError("give --input or --random-inputs, not both") }
        _ = try dimValues()
        for item in inputs where item.isEmpty || item.hasSuffix("=") { throw ValidationError("--input '\(item)' names no file") }
    }

    var isEmpty: Bool { inputs.isEmpty && randomInputs == nil }

    /// The options of graph inputs, and whether each was given: a token model refuses them.
    var given: [(option: String, given: Bool)] {
        [("--input", !inputs.isEmpty), ("--random-inputs", randomInputs != nil), ("--dim", !dims.isEmpty)]
    }

    /// The .npy files given.
    var files: [String] {
        inputs.map { item in
            if let eq = item.firstIndex(of: "="), !item[..<eq].contains("/") { return String(item[item.index(after: eq)...]) }
            return item
        }
    }

    /// `--dim` and `--seed` shape and seed random inputs: with files they would be ignored.
    /// (`verify` with no inputs at all runs random ones, which they do apply to.)
    func refuseUnused() throws {
        guard !inputs.isEmpty else { return }
        try UsageCheck.refuse([("--dim", !dims.isEmpty), ("--seed", seed != nil)], because: "the inputs are the files of --input, not random")
    }

    func dimValues() throws -> [String: Int] {
        var values: [String: Int] = [:]
        for item in dims {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let size = Int(parts[1]), size >= 0 else {
                throw ValidationError("--dim '\(item)' is not NAME=SIZE with a non-negative size")
            }
            values[String(parts[0])] = size
        }
        return values
    }

    /// The samples to run: one from files, or N random ones.
    func samples(for graph: Graph, session: Session) throws -> [[String: Tensor]] {
        if let count = randomInputs {
            let types: [String: TensorType]
            do {
                types = try session.inputTypes(dims: try dimValues())
            } catch {
                throw ValidationError("\(error); random inputs need every symbolic dim set with --dim NAME=SIZE")
            }
            // The sizes come from the model: check them before allocating any sample.
            var bytes = 0
            for (name, type) in types {
                guard let size = Checked.product(type.shape).flatMap({ Checked.multiply($0, type.elementType.byteSize) }),
                      let total = Checked.multiply(size, count).flatMap({ Checked.add(bytes, $0) }), total <= MemoryLimit.bytes else {
                    throw ExecutionError("random inputs: '\(name)' of shape \(type.shape) × \(count) samples is more than the memory limit of \(MemoryLimit.bytes) bytes; raise it with --max-memory SIZE")
                }
                bytes = total
            }
            var generator = SeededNormal(seed: seed ?? 0)
            return try (0..<count).map { _ in
                var sample: [String: Tensor] = [:]
                for (name, type) in types.sorted(by: { $0.key < $1.key }) {
                    guard type.elementType == .float32 else {
                        throw ValidationError("input '\(name)' is \(type.elementType): random inputs are float only; give it with --input \(name)=FILE.npy")
                    }
                    sample[name] = try Tensor(shape: type.shape, floats: (0..<type.elementCount).map { _ in generator.next() })
                }
                return sample
            }
        }
        guard !inputs.isEmpty else { throw ValidationError("give --input FILE.npy or --random-inputs N") }
        var sample: [String: Tensor] = [:]
        for item in inputs {
            let name: String, file: String
            if let eq = item.firstIndex(of: "="), !item[..<eq].contains("/") {
                name = String(item[..<eq])
                file = String(item[item.index(after: eq)...])
            } else {
                guard graph.inputs.count == 1 else {
                    throw ValidationError("the graph has \(graph.inputs.count) inputs (\(graph.inputs.map(\.name).joined(separator: ", "))): name each as --input NAME=FILE.npy")
                }
                name = graph.inputs[0].name
                file = item
            }
            guard graph.inputs.contains(where: { $0.name == name }) else {
                throw ValidationError("the graph has no input '\(name)' (its inputs: \(graph.inputs.map(\.name).joined(separator: ", ")))")
            }
            sample[name] = try Tensor(try NpyReader.read(file))
        }
        return [sample]
    }
}

/// Normal variates from the seeded SplitMix64 and the Box–Muller transform: the same seed
/// gives the same inputs on every machine.
struct SeededNormal {
    var generator: SplitMix64
    var spare: Float?

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func nextUInt64() -> UInt64 { generator.next() }

    mutating func next() -> Float {
        if let value = spare {
            spare = nil
            return value
        }
        let u1 = (Double(nextUInt64() >> 11) + 1) / 9_007_199_254_740_993.0
        let u2 = Double(nextUInt64() >> 11) / 9_007_199_254_740_992.0
        let radius = (-2 * log(u1)).squareRoot()
        spare = Float(radius * sin(2 * .pi * u2))
        return Float(radius * cos(2 * .pi * u2))
    }
}
