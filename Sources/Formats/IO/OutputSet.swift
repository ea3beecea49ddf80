#if canImport(Glibc)
import Glibc
#endif

/// The files one command writes, checked together before any work and committed together:
/// all of them appear, or none does.
///
/// Every name is checked first: not empty, in a folder that exists, free (or, with
/// `replace`, a regular file), a file of its own (no two outputs are the same file under two
/// spellings), and neither one of the command's inputs nor inside an input folder, so
/// `--force` cannot make a command replace what it reads. Each output is then written to an
/// unnamed temporary file; `commit` names them all and moves them into place, and if any
/// step fails it puts back what it had already moved (the replaced files too) and reports
/// the failure.
public final class OutputSet {
    public struct Output: Sendable {
        public var path: String
        /// The option that named it, for errors: "-o", "--report".
        public var option: String

        public init(_ path: String, option: String) {
            self.path = path
            self.option = option
        }
    }

    public let outputs: [Output]
    public let replace: Bool
    private var writers: [AtomicFileWriter] = []

    /// Checks every output against the others and against `inputs` (files or folders the
    /// command reads).
    public init(_ outputs: [Output], inputs: [String], replace: Bool) throws {
        self.outputs = outputs
        self.replace = replace
        try Self.check(outputs, inputs: inputs, replace: replace)
    }

    static func check(_ outputs: [Output], inputs: [String], replace: Bool) throws {
        var seen: [(resolved: String, identity: FileIdentity?, output: Output)] = []
        var unique = Set<String>()
        let readFiles = inputs.filter { unique.insert($0).inserted }.compactMap { input in FileIdentity.of(input).map { (input, $0) } }
        var inputFolders: [String: String] = [:]
        for (input, identity) in readFiles where isDirectory(input) { inputFolders[key(identity)] = input }
        for output in outputs {
            let path = output.path
            guard !path.isEmpty else { throw FormatError(path: "", "\(output.option) is empty: give a file name") }
            let name = AtomicFileWriter.baseName(of: path)
            guard !name.isEmpty, name != ".", name != ".." else {
                throw FormatError(path: path, "\(output.option) names a folder; give a file name")
            }
            let folder = AtomicFileWriter.directory(of: path)
            var info = stat()
            guard stat(folder, &info) == 0 else {
                throw FormatError(path: path, "the folder \(folder) cannot be used for \(output.option): \(SystemError.describe(errno))")
            }
            guard (info.st_mode & S_IFMT) == S_IFDIR else { throw FormatError(path: path, "\(folder) is not a folder") }
            guard access(folder, W_OK) == 0 else {
                throw FormatError(path: path, "cannot write in the folder \(folder): \(SystemError.describe(errno))")
            }
            try AtomicFileWriter.checkTarget(path, replace: replace)
            guard let resolved = FileIdentity.resolvedPath(path) else {
                throw FormatError(path: path, "cannot resolve the path of \(output.option)")
            }
            let identity = FileIdentity.of(path)
            for (input, inputIdentity) in readFiles where inputIdentity == identity || resolved == FileIdentity.resolvedPath(input) {
                throw FormatError(path: path, "\(output.option) is the input \(input): a command does not replace what it reads")
            }
            for ancestor in FileIdentity.ancestors(of: resolved) {
                if let ancestorIdentity = FileIdentity.of(ancestor), let input = inputFolders[key(ancestorIdentity)] {
                    throw FormatError(path: path, "\(output.option) lies inside the input folder \(input): a command does not write into what it reads")
                }
            }
            if let earlier = seen.first(where: { $0.resolved == resolved || ($0.identity != nil && $0.identity == identity) }) {
                throw FormatError(path: path, "\(output.option) is the same file as \(earlier.output.option) \(earlier.output.path): each output needs a name of its own")
            }
            seen.append((resolved, identity, output))
        }
    }

    private static func key(_ identity: FileIdentity) -> String { "\(identity.device):\(identity.inode)" }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The writer of one of the outputs; its bytes have no name until `commit`.
    public func writer(for path: String) throws -> AtomicFileWriter {
        guard outputs.contains(where: { $0.path == path }) else {
            throw FormatError(path: path, "is not one of the outputs checked for this command")
        }
        let writer = try AtomicFileWriter(path: path, replace: replace)
        writers.append(writer)
        return writer
    }

    /// Moves every written output into place, or none: on a failure, the outputs already
    /// moved are taken back (a replaced file is restored) before the error is thrown.
    public func commit() throws {
        let writers = self.writers
        self.writers = []
        try AtomicFileWriter.commitTogether(writers)
    }
}
