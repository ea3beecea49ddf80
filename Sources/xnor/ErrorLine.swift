import ArgumentParser
import Formats

/// The one line an error leaves on stderr.
enum ErrorLine {
    /// `text` with every control character written as an escape (`\u{1B}`): names and strings
    /// come from files, and raw bytes such as ESC sequences must not reach the terminal.
    static func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) {
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
}
