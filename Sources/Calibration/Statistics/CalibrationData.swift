import Formats
import Tokenizers
#if canImport(Glibc)
import Glibc
#endif

/// The token sequences a float model runs on to collect calibration statistics
/// (`convert --calibrate DATA`).
///
/// DATA is either token-id lines in the `--prompt-ids` format (one sequence a line, ids
/// separated by commas), recognised by holding nothing but digits, commas and white space, or
/// UTF-8 text. Text is tokenized with the model's own tokenizer, without special tokens, and
/// cut into consecutive sequences of `contextLength` tokens, each led by BOS when the
/// tokenizer adds one; the tokens left after the last whole sequence are not used. Token-id
/// lines are used as they are, each at most `contextLength` ids. Text read `byLine` is one
/// sequence per non-empty line, each tokenized alone with the special tokens the tokenizer adds
/// around a text ([CLS] … [SEP] for BERT, BOS for Llama): a sentence encoder sees its inputs so
/// (all-MiniLM-L6-v2 at b2g128: embedding cosine 0.82 calibrated on sentences, 0.75 on windows
/// of 128 tokens of the same text). Either way at most `samples` sequences are taken, the first
/// ones.
public struct CalibrationData: Sendable {
    public enum Kind: String, Sendable {
        case text
        case tokenIDs = "token ids"
        case textLines = "text, one sequence a line"
    }

    public var path: String
    public var kind: Kind
    public var sequences: [[Int]]
    /// Tokens in the file (text: as tokenized) beyond the sequences taken.
    public var unusedTokens: Int

    public var tokenCount: Int { sequences.reduce(0) { $0 + $1.count } }

    /// Reads `path`; `tokenizer` is asked for only when the file is text. Errors name the
    /// file and, where one is at fault, the line or byte offset.
    public static func read(_ path: String, contextLength: Int, samples: Int, vocabulary: Int, byLine: Bool = false,
                            tokenizer: () throws -> Tokenizer) throws -> CalibrationData {
        guard contextLength >= 2, samples >= 1 else {
            throw FormatError(path: path, "calibration needs sequences of at least 2 tokens and at least 1 sequence")
        }
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw FormatError(path: path, "is a directory, not a text file or a file of token ids")
        }
        let file = try MappedFile(mapping: path)
        let bytes = try file.bytes(in: 0..<file.size)
        guard bytes.contains(where: { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") || !isTokenIDByte($0) }) else {
            throw FormatError(path: path, "holds no text and no token ids")
        }
        if bytes.allSatisfy(isTokenIDByte) {
            let limits = PromptIDsLimits(vocabulary: vocabulary, tokensPerSequence: contextLength,
                                         tokensPerSequenceReason: "--calib-ctx \(contextLength)")
            let all = try PromptIDsFile.read(path, limits: limits)
            let taken = Array(all.prefix(samples))
            return CalibrationData(path: path, kind: .tokenIDs, sequences: taken,
                                   unusedTokens: all.dropFirst(samples).reduce(0) { $0 + $1.count })
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FormatError(path: path, location: .offset(firstInvalidUTF8(bytes)), "the text is not valid UTF-8")
        }
        let tokenizer = try tokenizer()
        if byLine { return try lines(of: text, path: path, contextLength: contextLength, samples: samples, vocabulary: vocabulary, tokenizer: tokenizer) }
        let tokens = try tokenizer.encode(text, addSpecial: false, parseSpecial: false)
        if let bad = tokens.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw FormatError(path: path, "the tokenizer of \(tokenizer.path) gives id \(bad), outside the model's vocabulary of \(vocabulary)")
        }
        let bos = tokenizer.addsBOS ? tokenizer.bos : nil
        let length = contextLength - (bos == nil ? 0 : 1)
        let whole = min(tokens.count / length, samples)
        guard whole > 0 else {
            throw FormatError(path: path, "the text is \(tokens.count) tokens, fewer than one calibration sequence of \(length)\(bos == nil ? "" : " after BOS") (--calib-ctx \(contextLength))")
        }
        let sequences = (0..<whole).map { s in (bos.map { [$0] } ?? []) + tokens[(s * length)..<((s + 1) * length)] }
        return CalibrationData(path: path, kind: .text, sequences: sequences, unusedTokens: tokens.count - whole * length)
    }

    /// One sequence per line that holds more than white space; a line longer than
    /// `contextLength` tokens is refused, naming it, as a token-id line is.
    private static func lines(of text: String, path: String, contextLength: Int, samples: Int, vocabulary: Int,
                              tokenizer: Tokenizer) throws -> CalibrationData {
        var sequences: [[Int]] = []
        var unused = 0
        var offset = 0
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            defer { offset += line.utf8.count + 1 }
            guard line.contains(where: { !$0.isWhitespace }) else { continue }
            let ids = try tokenizer.encode(String(line), addSpecial: true, parseSpecial: false)
            let location = FormatError.Location.fieldAtOffset("line \(index + 1)", offset)
            if let bad = ids.first(where: { $0 < 0 || $0 >= vocabulary }) {
                throw FormatError(path: path, location: location, "the tokenizer of \(tokenizer.path) gives id \(bad), outside the model's vocabulary of \(vocabulary)")
            }
            guard ids.count <= contextLength else {
                throw FormatError(path: path, location: location, "\(ids.count) tokens with the tokenizer's special tokens, more than --calib-ctx \(contextLength)")
            }
            if sequences.count < samples { sequences.append(ids) } else { unused += ids.count }
        }
        return CalibrationData(path: path, kind: .textLines, sequences: sequences, unusedTokens: unused)
    }

    private static func isTokenIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: ","), UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"): true
        default: false
        }
    }

    private static func firstInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        while case .valid(let encoded) = parser.parseScalar(from: &iterator) { offset += encoded.count }
        return offset
    }
}
