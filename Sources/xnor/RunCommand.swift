import ArgumentParser
import Conversion
import Formats
import Graph
import Runtime
#if canImport(Glibc)
import Glibc
#endif

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a graph on one input: a source .onnx on the reference executor, a .xnor on the popcount runtime."
    )

    @Argument(help: "A .onnx or .xnor model.")
    var path: String

    @OptionGroup var inputs: InputOptions

    @Option(name: .shortAndLong, help: "The output .npy (one output) or a folder for NAME.npy files (several outputs).")
    var output: String

    @Flag(help: "Replace output files that exist.")
    var force = false

    func validate() throws {
        if let n = inputs.randomInputs, n != 1 { throw ValidationError("run takes one input: --random-inputs 1 or --input") }
    }

    func run() throws {
        let graph: Graph
        let executor: Executor
        let name = path.hasSuffix(".zst") ? String(path.dropLast(4)) : path
        if name.hasSuffix(".onnx") {
            graph = try SourceModel.load(path).graph
            executor = try Executor(graph: graph)
        } else {
            let loaded = try XNORModelFile.open(path)
            graph = loaded.packed.graph
            executor = try Executor(graph: graph, registry: .xnor(weights: loaded.packed.weights))
        }
        guard let sample = try inputs.samples(for: graph, executor: executor).first else { return }
        let outputs = try executor.run(inputs: sample)
        if graph.outputs.count == 1, let only = graph.outputs.first, let tensor = outputs[only.name] {
            try NpyWriter.write(float32: tensor.floatValues(), shape: tensor.shape, to: output, replace: force)
            return
        }
        try makeFolder(output)
        for info in graph.outputs {
            guard let tensor = outputs[info.name] else { continue }
            let file = output + "/" + info.name.map { $0 == "/" ? "_" : $0 }.reduce("") { $0 + String($1) } + ".npy"
            try NpyWriter.write(float32: tensor.floatValues(), shape: tensor.shape, to: file, replace: force)
        }
    }

    private func makeFolder(_ path: String) throws {
        var info = stat()
        if stat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFDIR else { throw FormatError(path: path, "is not a folder; several outputs need -o FOLDER") }
            return
        }
        guard mkdir(path, 0o755) == 0 else { throw FormatError(path: path, "cannot create the output folder") }
    }
}
