import Formats

/// A command's model argument: a path, or a Hugging Face model id (`ORG/NAME[@REVISION]`)
/// resolved in the local hub cache as transformers resolves it offline. Nothing is downloaded.
enum ModelPath {
    /// `argument` itself when a file or folder of that name exists or it is no model id; else
    /// the cached snapshot folder (or its one GGUF file) the id names. An id that is not in the
    /// cache is an error that says where the tool looked.
    static func resolve(_ argument: String) throws -> String {
        try HubCache.resolvePath(argument)
    }

    /// The repository's name (`SmolLM2-135M-Instruct`) when `argument` is a model id, for a
    /// model name that is not the snapshot's commit hash.
    static func modelIDName(_ argument: String) -> String? {
        guard let id = HubCache.modelID(argument) else { return nil }
        return id.repository.split(separator: "/").last.map(String.init)
    }
}
