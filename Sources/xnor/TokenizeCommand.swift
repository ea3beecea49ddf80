import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Formats
import Tokenizers

/// `xnor tokenize`: a tokenizer alone, as llama-tokenize runs it; no tensor is read.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize a text with a model's tokenizer and print the ids and pieces, as llama-tokenize does.",
        discussion: """
        PATH is a Hugging Face folder (tokenizer.json, else tokenizer.model or vocab.txt, with \
        tokenizer_config.json), a tokenizer.json / tokenizer.model file, a GGUF (a vocabulary-only \
        GGUF too) or a .xnor file. The default output is one line per token, `ID -> 'PIECE'` (control \
        characters escaped; a piece that is not whole UTF-8 shown as <hex bytes>).
        """
    )

    @Argument(help: "A Hugging Face folder, tokenizer.json, tokenizer.model, GGUF or .xnor file.")
    var path: String

    @Option(help: "The text to tokenize, used verbatim (no escape processing).")
    var text: String?

    @Option(help: "A file whose bytes (valid UTF-8) are the text.")
    var file: String?

    @Flag(help: "Print one JSON object: ids, pieces (vocabulary strings), each token's text, the decoded text and the count.")
    var json = false

    @Flag(name: .customLong("no-bos"), help: "Do not add the BOS (and other) tokens the tokenizer adds around a text.")
    var noBOS = false

    @Flag(name: .customLong("no-parse-special"), help: "Treat special token texts in the input as plain text.")
    var noParseSpecial = false

    @Flag(name: .customLong("ids-only"), help: "Print only the ids, as a list: [1, 2, 3].")
    var idsOnly = false

    @Flag(name: .customLong("show-count"), help: "Also print the number of tokens.")
    var showCount = false

    @Flag(name: .customLong("timings"), help: ArgumentHelp(
        "Print the load and encode times and the encode throughput (MB/s of UTF-8 input) on stderr.", visibility: .hidden))
    var timings = false

    @Option(name: .customLong("batch-separator"), help: ArgumentHelp(
        "Cut the text at each occurrence of SEP and print one --ids-only line per part (as llama.cpp's vocabulary tests read their .inp files).",
        visibility: .hidden))
    var batchSeparator: String?

    func validate() throws {
        guard (text == nil) != (file == nil) else { throw ValidationError("give exactly one of --text and --file") }
        guard !(json && idsOnly) else { throw ValidationError("--json and --ids-only exclude each other") }
    }

    func run() throws {
        let input: String
        if let text {
            input = text
        } else {
            input = try TextInput.read(file!)
        }
        let loadStart = Self.now()
        let tokenizer = try Tokenizer.load(path: try ModelPath.resolve(path))
        let loaded = Self.now()
        if let separator = batchSeparator, !separator.isEmpty {
            var out = ""
            for part in Self.split(input, separator) {
                let ids = try tokenizer.encode(part, addSpecial: !noBOS, parseSpecial: !noParseSpecial)
                out += json ? Self.json(ids, tokenizer) : "[" + ids.map(String.init).joined(separator: ", ") + "]\n"
            }
            FileHandleStream(fd: 1).write(out)
            return
        }
        let ids = try tokenizer.encode(input, addSpecial: !noBOS, parseSpecial: !noParseSpecial)
        if timings {
            let encoded = Self.now()
            let seconds = encoded - loaded
            let megabytes = Double(input.utf8.count) / 1e6
            FileHandleStream.standardError.write(
                "load \(Int((loaded - loadStart) * 1000)) ms, encode \(Int(seconds * 1000)) ms for \(input.utf8.count) bytes -> \(ids.count) tokens: \(Double(Int(megabytes / seconds * 100)) / 100) MB/s\n")
        }
        var out = ""
        if idsOnly {
            out = "[" + ids.map(String.init).joined(separator: ", ") + "]\n"
        } else if json {
            out = Self.json(ids, tokenizer)
        } else {
            for id in ids {
                let bytes = tokenizer.pieceBytes(id)
                let number = String(id)
                out += String(repeating: " ", count: max(0, 6 - number.count)) + number + " -> '"
                if let text = String(validating: bytes, as: UTF8.self) {
                    out += TerminalText.escaped(text) + "'\n"
                } else {
                    out += "<" + bytes.map { b in let h = String(b, radix: 16); return h.count == 1 ? "0" + h : h }.joined(separator: " ") + ">' (utf-8 decode failure)\n"
                }
            }
        }
        if showCount { out += "Total number of tokens: \(ids.count)\n" }
        FileHandleStream(fd: 1).write(out)
    }

    /// One JSON line: ids, the vocabulary's pieces, each token's text and the decoded text.
    static func json(_ ids: [Int], _ tokenizer: Tokenizer) -> String {
        let pieces = ids.map { JSONValue.string(tokenizer.piece($0)) }
        let texts = ids.map { JSONValue.string(String(decoding: tokenizer.pieceBytes($0), as: UTF8.self)) }
        let object = JSONValue.object([
            ("ids", .array(ids.map { .int(Int64($0)) })),
            ("pieces", .array(pieces)),
            ("token_text", .array(texts)),
            ("decoded", .string(tokenizer.decode(ids))),
            ("count", .int(Int64(ids.count))),
        ])
        return JSONWriter(indent: nil).string(object) + "\n"
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// `text` cut at each occurrence of `separator` (byte-wise, as std::string::find does).
    static func split(_ text: String, _ separator: String) -> [String] {
        let bytes = Array(text.utf8), sep = Array(separator.utf8)
        var parts: [String] = []
        var start = 0, i = 0
        while i + sep.count <= bytes.count {
            if Array(bytes[i..<(i + sep.count)]) == sep {
                parts.append(String(decoding: bytes[start..<i], as: UTF8.self))
                i += sep.count
                start = i
            } else {
                i += 1
            }
        }
        if start < bytes.count { parts.append(String(decoding: bytes[start...], as: UTF8.self)) }
        return parts
    }
}
