/// What the rotation passes changed in a graph and what they left as it was, with the reason
/// for each: printed by `convert --rotate` beside the conversion report.
public struct RotationReport: Sendable {
    public struct Entry: Sendable, CustomStringConvertible {
        /// The pass: "fold-norms", "rotate-residual", "online-hadamard", "storage".
        public var pass: String
        /// The node or tensor concerned.
        public var subject: String
        public var changed: Bool
        /// What was done, or why it was left.
        public var detail: String

        public var description: String { "\(pass): \(subject) \(changed ? "changed" : "left"): \(detail)" }
    }

    public var entries: [Entry] = []

    public init(entries: [Entry] = []) {
        self.entries = entries
    }

    mutating func changed(_ pass: String, _ subject: String, _ detail: String) {
        entries.append(Entry(pass: pass, subject: subject, changed: true, detail: detail))
    }

    mutating func left(_ pass: String, _ subject: String, _ detail: String) {
        entries.append(Entry(pass: pass, subject: subject, changed: false, detail: detail))
    }

    public var text: String { entries.map { "  \($0)\n" }.joined() }
}

/// Why a graph cannot be rotated as a whole; the graph is then used as it was.
public struct RotationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
