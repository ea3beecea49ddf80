#if canImport(Glibc)
import Glibc
#endif

/// A Hugging Face model id (`HuggingFaceTB/SmolLM2-135M-Instruct`, optionally `@revision`)
/// resolved in the local hub cache, as transformers resolves it offline: nothing is downloaded.
///
/// The cache folder follows huggingface_hub's precedence: `HF_HUB_CACHE`, then the older
/// `HUGGINGFACE_HUB_CACHE`, then `$HF_HOME/hub`, where `HF_HOME` defaults to
/// `$XDG_CACHE_HOME/huggingface` and that to `~/.cache/huggingface`. A repository is
/// `models--ORG--NAME/`; a branch name is looked up in `refs/`, whose file holds the commit
/// that names the folder in `snapshots/`.
public struct HubCache: Sendable {
    public var root: String

    public init(environment: [String: String]) {
        if let hub = environment["HF_HUB_CACHE"], !hub.isEmpty {
            root = hub
        } else if let hub = environment["HUGGINGFACE_HUB_CACHE"], !hub.isEmpty {
            root = hub
        } else {
            let home: String
            if let hfHome = environment["HF_HOME"], !hfHome.isEmpty {
                home = hfHome
            } else if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
                home = xdg + "/huggingface"
            } else {
                home = (environment["HOME"] ?? "~") + "/.cache/huggingface"
            }
            root = home + "/hub"
        }
    }

    /// The cache of this process's environment.
    public static var current: HubCache {
        var environment: [String: String] = [:]
        for name in ["HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HOME"] {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        return HubCache(environment: environment)
    }

    /// An argument that names a model id rather than a path: `ORG/NAME` or `ORG/NAME@REVISION`,
    /// each part of the characters the Hub allows, and no file or folder of that name exists.
    public static func modelID(_ argument: String) -> (repository: String, revision: String)? {
        var exists = stat()
        if stat(argument, &exists) == 0 { return nil }
        let (name, revision) = split(argument)
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ isHubName(Substring($0)) }), isHubName(Substring(revision)) else { return nil }
        return (name, revision)
    }

    /// The snapshot folder of `repository` at `revision`, or the one GGUF file in it when the
    /// repository holds GGUF files and no config.json.
    public func resolve(repository: String, revision: String = "main", argument: String? = nil) throws -> String {
        let shown = argument ?? repository
        let folder = root + "/models--" + repository.replacingSlashes()
        guard ModelOpener.isDirectory(folder) else {
            throw FormatError(path: shown, "no such file or folder, and the model id is not in the local Hugging Face cache (looked for \(folder); set HF_HUB_CACHE or HF_HOME to use another cache; nothing is downloaded)")
        }
        let commit: String
        if ModelOpener.isDirectory(folder + "/snapshots/" + revision) {
            commit = revision
        } else {
            let reference = folder + "/refs/" + revision
            guard let text = Self.readSmallFile(reference), isHubName(Substring(text)) else {
                throw FormatError(path: shown, "the local Hugging Face cache has no revision '\(revision)' of this model (looked for \(reference) and \(folder)/snapshots/\(revision))")
            }
            commit = text
        }
        let snapshot = folder + "/snapshots/" + commit
        guard ModelOpener.isDirectory(snapshot) else {
            throw FormatError(path: shown, "the local Hugging Face cache names commit \(commit) for '\(revision)', but \(snapshot) does not exist")
        }
        if Self.exists(snapshot + "/config.json") { return snapshot }
        let ggufFiles = Self.entries(snapshot).filter { $0.hasSuffix(".gguf") }.sorted()
        switch ggufFiles.count {
        case 1: return snapshot + "/" + ggufFiles[0]
        case 0: throw FormatError(path: shown, "the cached snapshot \(snapshot) has neither config.json nor a .gguf file")
        default:
            throw FormatError(path: shown, "the cached snapshot \(snapshot) holds \(ggufFiles.count) GGUF files (\(ggufFiles.prefix(4).joined(separator: ", "))\(ggufFiles.count > 4 ? ", …" : "")); give the path of one")
        }
    }

    /// `argument` itself when it is a path, or the cached snapshot its model id names.
    public static func resolvePath(_ argument: String, cache: HubCache = .current) throws -> String {
        guard let id = modelID(argument) else { return argument }
        return try cache.resolve(repository: id.repository, revision: id.revision, argument: argument)
    }

    private static func split(_ argument: String) -> (String, String) {
        guard let at = argument.lastIndex(of: "@") else { return (argument, "main") }
        return (String(argument[..<at]), String(argument[argument.index(after: at)...]))
    }

    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0, count < buffer.count else { return nil }
        let text = String(decoding: buffer[..<count], as: UTF8.self)
        return text.trimmingWhitespace()
    }

    private static func exists(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0
    }

    private static func entries(_ folder: String) -> [String] {
        guard let directory = opendir(folder) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory), names.count < 100_000 {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

/// The Hub's repository and revision names: letters, digits, `-`, `_`, `.`, never `.`/`..`
/// alone, so that a name can never climb out of the cache folder.
private func isHubName(_ name: Substring) -> Bool {
    guard !name.isEmpty, name.count <= 96, name != ".", name != ".." else { return false }
    return name.utf8.allSatisfy { c in
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F || c == 0x2E
    }
}

private extension String {
    func replacingSlashes() -> String { split(separator: "/").joined(separator: "--") }

    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        let start = scalars.firstIndex { !$0.properties.isWhitespace } ?? scalars.endIndex
        let end = scalars.lastIndex { !$0.properties.isWhitespace }.map { scalars.index(after: $0) } ?? start
        return String(scalars[start..<max(start, end)])
    }
}
