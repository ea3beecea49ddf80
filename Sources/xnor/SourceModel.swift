import Formats
import Graph

/// Loads the graph of a conversion source. ONNX graphs come with their ops; the LLM
/// builders for safetensors folders and GGUF files come later.
enum SourceModel {
    static func load(_ path: String) throws -> (graph: Graph, model: ONNXModelInfo) {
        let name = path.hasSuffix(".zst") ? String(path.dropLast(4)) : path
        guard name.hasSuffix(".onnx") else {
            throw FormatError(path: path, "only ONNX sources (.onnx) can be converted so far; LLM sources (safetensors, Hugging Face folders, GGUF) are not supported yet")
        }
        // The importer validates the graph (topological order, defined inputs).
        return try ONNXImporter.load(path: path)
    }

    /// The files a source is made of, for `xnor.source.*`: the model and its external data.
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
