import ArgumentParser
import Formats

/// Text for the terminal: reports and the one line an error leaves on stderr.
enum TerminalText {
    /// `text` with every control character written as an escape (`\u{1B}`): names and strings
    /// come from files, and raw bytes such as ESC sequences must not reach the terminal.
    /// Reports keep their own line breaks (`keepingNewlines`).
    static func escaped(_ text: String, keepingNewlines: Bool = false) -> String {
        // Most text has nothing to escape: a scan of its bytes is enough (C1 controls are
        // two-byte sequences starting 0xC2, which the slow path looks at).
        let needsEscape = text.utf8.contains { byte in
            byte < 0x20 && !(keepingNewlines && byte == 0x0A) || byte == 0x7F || byte == 0xC2
        }
        if !needsEscape { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if keepingNewlines && v == 0x0A {
                out.unicodeScalars.append(scalar)
            } else if v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) {
                out += "\\u{" + String(v, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Runs `body` for the model at `path`; an error that names no file (a runtime, graph or
    /// shape error) is given that file's name, so every error line says which file it is about.
    static func naming<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as FormatError {
            throw error
        } catch let error as ValidationError {
            throw error
        } catch let error as CleanExit {
            throw error
        } catch {
            throw FormatError(path: path, "\(error)")
        }
    }

    /// Prints a report whose names and values come from files.
    static func print(_ text: String, terminator: String = "\n") {
        Swift.print(escaped(text, keepingNewlines: true), terminator: terminator)
    }
}
