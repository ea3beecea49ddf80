import ArgumentParser
import Formats
import Runtime
#if canImport(Glibc)
import Glibc
#endif

@main
struct XNOR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xnor",
        abstract: "Turn model weights into 1-bit XNOR/popcount models, inspect model files, and verify conversions.",
        subcommands: [Inspect.self, Dump.self, Convert.self, VerifyCommand.self, RunCommand.self, ChatCommand.self, PerplexityCommand.self, TokenizeCommand.self, Bench.self, ServeCommand.self]
    )

    /// Runs the command line, promising what scripts rely on: exit 0 on success, 1 on any
    /// data or usage error, with exactly one line on stderr.
    static func main() {
        // A write past `ulimit -f` then fails with EFBIG and the usual error line, instead of
        // the process being killed with none.
        signal(SIGXFSZ, SIG_IGN)
        FloatGemm.load()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            let line: String
            if exitCode(for: error) == .validationFailure {
                line = "xnor: error: \(message(for: error)) (see 'xnor help')"
            } else {
                line = "xnor: error: \(error)"
            }
            let oneLine = line.split(whereSeparator: \.isNewline).joined(separator: " ")
            FileHandleStream.standardError.write(TerminalText.escaped(oneLine) + "\n")
            Glibc.exit(1)
        }
    }
}
