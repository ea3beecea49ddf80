import ArgumentParser
import Formats

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model file's format, metadata and tensors without reading tensor data."
    )

    @Argument(help: "A .safetensors or .gguf file (optionally zstd-compressed) or a Hugging Face folder.")
    var path: String

    @Flag(help: "Print one JSON object instead of the readable summary.")
    var json = false

    func run() throws {
        let model = try ModelOpener.open(path)
        if json {
            print(JSONWriter().string(InspectReport.json(model)))
        } else {
            print(InspectReport.text(model), terminator: "")
        }
    }
}
