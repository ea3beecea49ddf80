#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress counter on stderr, shown only when stderr is a terminal and the user
/// did not ask for quiet: scripts and CI logs get no carriage returns.
struct Progress {
    let label: String
    let enabled: Bool

    init(_ label: String, quiet: Bool) {
        self.label = label
        enabled = !quiet && isatty(2) == 1
    }

    func update(_ done: Int, _ total: Int) {
        guard enabled else { return }
        FileHandleStream.standardError.write("\r\(label) \(done)/\(total)")
        if done == total { FileHandleStream.standardError.write("\r\u{1B}[K") }
    }
}
