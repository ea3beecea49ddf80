import Conversion
import XNORLoader
import Formats
import Generation
import Graph
import Models
import Runtime

/// A model as the commands run it: its graph, the ops it needs, and what kind of model it is.
struct LoadedModel {
    var graph: Graph
    var registry: OpRegistry
    /// Set for checkpoints the builders made (HF folders, GGUF).
    var built: BuiltModel?
    /// Set for .xnor files.
    var xnor: XNORModelFile.Loaded?
    var onnx: ONNXModelInfo?
    /// The checkpoint the builders read (HF folder or GGUF), with its files.
    var checkpoint: ModelFile?

    /// Set for language models and encoders, whose graph was checked against the contract.
    var signature: LanguageModelSignature?
    /// The graph compiled for the signature check, kept so a run does not compile it again.
    var compiled: CompiledModel?

    /// The compiled model, compiled now if the signature check did not.
    func compiledModel() throws -> CompiledModel {
        try compiled ?? CompiledModel(graph: graph, registry: registry)
    }

    /// The compiled model a decoding session runs: for a causal LM, its graph with only the
    /// last token's logits (`LastTokenLogits`), otherwise `compiledModel()`.
    func generationModel() throws -> CompiledModel {
        guard isCausal, let last = LastTokenLogits.graph(graph) else { return try compiledModel() }
        return try CompiledModel(graph: last, registry: registry)
    }

    var takesTokens: Bool { signature != nil }
    var isCausal: Bool { signature?.kind == .causalLM }
}

/// Loads a model for `run`, `convert` and `verify`: an ONNX graph as the file gives it, a
/// Hugging Face folder or a GGUF checkpoint through the architecture registry, a .xnor as
/// written.
enum SourceModel {
    static func open(_ path: String, contextLength: Int? = nil) throws -> LoadedModel {
        var model = try load(path, contextLength: contextLength)
        if LanguageModelSignature.takesTokens(model.graph) {
            let (compiled, signature) = try TerminalText.naming(path) {
                let compiled = try CompiledModel(graph: model.graph, registry: model.registry)
                return (compiled, try LanguageModelSignature.of(compiled, contextLength: contextLength))
            }
            model.compiled = compiled
            model.signature = signature
        }
        return model
    }

    private static func load(_ path: String, contextLength: Int?) throws -> LoadedModel {
        let file: ModelFile
        switch try ModelOpener.detect(path) {
        case .onnx(let onnx):
            // The importer validates the graph (topological order, defined inputs).
            let (graph, info) = try ONNXImporter.load(onnx)
            return LoadedModel(graph: graph, registry: .standard, onnx: info)
        case .xnor(let xnor):
            let loaded = try XNORModelFile.open(xnor)
            return LoadedModel(graph: loaded.packed.graph, registry: .xnor(weights: loaded.packed.weights), xnor: loaded)
        case .tensors(let model):
            file = model
        }
        guard ModelRegistry.isModel(file) else {
            throw FormatError(path: path, "holds tensors but no model: give an ONNX file, a Hugging Face folder (config.json + safetensors) or a GGUF checkpoint")
        }
        let built = try ModelRegistry.build(file, options: .init(contextLength: contextLength))
        return LoadedModel(graph: built.graph, registry: .standard, built: built, checkpoint: file)
    }

    /// The files a source is made of, for `xnor.source.*`: the model and its external data,
    /// or a folder's config and shards.
    static func files(of path: String, model: LoadedModel) throws -> [(path: String, name: String)] {
        if let info = model.onnx { return files(of: info) }
        guard let checkpoint = model.checkpoint, checkpoint.format == .huggingFaceFolder else {
            return [(path: path, name: AtomicFileWriter.baseName(of: path))]
        }
        var names = ["config.json"]
        var seen = Set<String>()
        for tensor in checkpoint.tensors where seen.insert(tensor.file.path).inserted {
            names.append(AtomicFileWriter.baseName(of: tensor.file.path))
        }
        return names.map { (path: path + "/" + $0, name: $0) }
    }

    /// An ONNX model's file and its external data files.
    static func files(of info: ONNXModelInfo) -> [(path: String, name: String)] {
        let folder = AtomicFileWriter.directory(of: info.path)
        var files = [(path: info.path, name: AtomicFileWriter.baseName(of: info.path))]
        var seen = Set<String>()
        for (_, source) in info.tensorSources {
            if case .external(let location, _) = source, seen.insert(location).inserted {
                files.append((path: folder + "/" + location, name: location))
            }
        }
        return files
    }
}
