import ArgumentParser
import Formats

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model file's format, metadata and tensors without reading tensor data."
    )

    @Argument(help: "A .safetensors, .gguf, .onnx or .xnor file (optionally zstd-compressed), a Hugging Face folder, or a model id (ORG/NAME[@REVISION]) in the local Hugging Face cache.")
    var path: String

    @Flag(help: "Print one JSON object instead of the readable summary.")
    var json = false

    @Flag(help: "Also verify the SHA-256 of every tensor of a .xnor file (reads all tensor data). Exit 1 naming the first tensor that differs, or when the file has no checksums (not a .xnor file).")
    var check = false

    @OptionGroup var limits: ReadLimits

    func run() throws {
        limits.apply()
        let path = try ModelPath.resolve(self.path)
        let model: ModelFile
        switch try ModelOpener.detect(path) {
        case .onnx(let onnx):
            if check { throw XNORReport.nothingToCheck(path, kind: "an ONNX file") }
            TerminalText.print(try ONNXReport.inspect(onnx, json: json), terminator: "")
            return
        case .xnor(let file):
            if check { try file.verifyChecksums() }
            TerminalText.print(json ? JSONWriter().string(try XNORReport.json(file, checked: check)) + "\n" : try XNORReport.text(file, checked: check), terminator: "")
            return
        case .tensors(let tensors):
            model = tensors
        }
        if check { throw XNORReport.nothingToCheck(path, kind: XNORReport.kind(of: model)) }
        if json {
            TerminalText.print(JSONWriter().string(InspectReport.json(model)))
        } else {
            TerminalText.print(InspectReport.text(model), terminator: "")
        }
    }
}
