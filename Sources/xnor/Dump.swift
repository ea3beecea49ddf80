import ArgumentParser
import Formats

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one tensor, dequantized to float32, as a NumPy .npy file."
    )

    @Argument(help: "A .safetensors, .gguf or .onnx file (optionally zstd-compressed), a Hugging Face folder, or a model id (ORG/NAME[@REVISION]) in the local Hugging Face cache.")
    var path: String

    @Argument(help: "The tensor's name, as `xnor inspect` lists it.")
    var tensor: String

    @Option(name: .shortAndLong, help: "The .npy file to write.")
    var output: String

    @Flag(help: "Replace the output file if it exists.")
    var force = false

    @OptionGroup var limits: ReadLimits

    func validate() throws {
        try UsageCheck.paths([("PATH", path), ("-o", output)])
    }

    var outputs: [OutputSet.Output] { [OutputSet.Output(output, option: "-o")] }

    func run() throws {
        limits.apply()
        let path = try ModelPath.resolve(self.path)
        _ = try OutputSet(outputs, inputs: [path], replace: force)
        let model: ModelFile
        switch try ModelOpener.detect(path) {
        case .onnx(let onnx):
            try ONNXReport.dump(onnx, tensor: tensor, to: outputs, replace: force)
            return
        case .xnor(let file): model = file.model
        case .tensors(let tensors): model = tensors
        }
        guard let entry = model.tensor(named: tensor) else {
            throw FormatError(path: path, location: .field("tensor '\(tensor)'"),
                              "no such tensor (the file has \(model.tensors.count); `xnor inspect` lists them)")
        }
        // Every file of the model, with the path itself: a shard may be a link to a file
        // elsewhere (a Hugging Face cache's blobs).
        let set = try OutputSet(outputs, inputs: [path] + model.tensors.map(\.file.path), replace: force)
        let values = try entry.floatValues()
        try NpyWriter.write(float32: values, shape: entry.shape, into: try set.writer(for: output))
        try set.commit()
    }
}
