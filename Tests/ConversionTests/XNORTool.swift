import Foundation
import TestSupport

/// The built `xnor` tool, run as a user runs it: `convert`'s choices about what a .xnor carries
/// live in the command, so they are tested through it.
enum XNORTool {
    typealias Result = ProgramResult

    /// `.build/debug/xnor` beside the test bundle (`swift test` builds every product), else
    /// `XNOR_EXECUTABLE`.
    static var executable: String {
        if let given = ProcessInfo.processInfo.environment["XNOR_EXECUTABLE"], !given.isEmpty { return given }
        let beside = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent().path + "/xnor"
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return repositoryRoot + "/.build/debug/xnor"
    }

    /// Runs `xnor arguments` and waits.
    static func xnor(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try runProgram(executable, arguments, environment: environment)
    }

    /// A fresh folder under the temporary directory, removed by the caller.
    static func scratch(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "xnor-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Leaves a copy of `path` in $XNOR_TEST_OUTPUT_DIR when it is set, for
    /// tools/check_xnor_gguf.py (gguf-py must open every .xnor file the tests write).
    static func keepForOracle(_ path: String, as name: String) throws {
        guard let folder = ProcessInfo.processInfo.environment["XNOR_TEST_OUTPUT_DIR"], !folder.isEmpty else { return }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: folder + "/" + name)
        try FileManager.default.copyItem(atPath: path, toPath: folder + "/" + name)
    }
}
