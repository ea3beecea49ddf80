import Formats

/// Whether the source given to `verify` is the model the .xnor file was converted from: the
/// SHA-256 of its files against those recorded at conversion (`xnor.source.sha256`). A model
/// of the same shapes but other weights would otherwise verify as a poor conversion, or a
/// good one, of a model it never was.
public struct SourceCheck: Sendable {
    public var recorded: XNORSource
    public var given: XNORSource

    public init(recorded: XNORSource, given: XNORSource) {
        self.recorded = recorded
        self.given = given
    }

    /// The same files' contents, whatever their names (a renamed copy is the same model).
    public var matches: Bool {
        !recorded.files.isEmpty && recorded.files.map(\.sha256).sorted() == given.files.map(\.sha256).sorted()
    }

    /// What differs, for one line: the first file whose contents were not recorded.
    public var difference: String {
        guard !recorded.files.isEmpty else { return "the model records no source files" }
        let recordedDigests = Set(recorded.files.map(\.sha256))
        if let file = given.files.first(where: { !recordedDigests.contains($0.sha256) }) {
            if let namesake = recorded.files.first(where: { $0.name == file.name }) {
                return "\(file.name) has SHA-256 \(file.sha256.prefix(16))…, recorded \(namesake.sha256.prefix(16))…"
            }
            return "\(file.name) (SHA-256 \(file.sha256.prefix(16))…) is none of the \(recorded.files.count) recorded source files"
        }
        return "the source has \(given.files.count) files, the record \(recorded.files.count)"
    }
}
