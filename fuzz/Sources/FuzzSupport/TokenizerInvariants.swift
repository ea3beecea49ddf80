import Formats
import Tokenizers

/// What every tokenizer a reader accepts must do with any text: ids inside the vocabulary,
/// pieces and decoding that never trap, and for a lossless tokenizer the text back exactly.
public enum TokenizerInvariants {
    static let texts = [
        "Hello world! It's 2024: 12345 apples.", "  leading and   runs of spaces\t\ttabs\n\nnewlines\r\n",
        "Ελληνικά, русский, 中文, 日本語, 한국어, العربية, हिन्दी", "emoji 😀👩‍💻🇫🇷 and e\u{301} combining",
        "def f(x):\n    return x ** 2  # code", "<s></s><|im_start|><|endoftext|>[CLS]<unk>",
    ]

    /// `tail` (the input's last bytes, read as text with replacement) is tokenized too.
    /// One execution of a tokenizer-file target: the input written to `scratch`, loaded by
    /// `load`, then held to `check`; a refusal must be a FormatError.
    public static func run(_ data: UnsafePointer<UInt8>, _ size: Int, in scratch: ScratchFile,
                           load: (String) throws -> Tokenizer) {
        scratch.write(data, count: size)
        defer { scratch.remove() }
        do {
            check(try load(scratch.path), tail: tail(data, size))
        } catch {
            expectRefusal(error)
        }
    }

    public static func check(_ tokenizer: Tokenizer, tail: String) {
        let n = tokenizer.vocabularySize
        for text in texts + [tail] {
            for (addSpecial, parseSpecial) in [(false, true), (true, false)] {
                let ids: [Int]
                do {
                    ids = try tokenizer.encode(text, addSpecial: addSpecial, parseSpecial: parseSpecial)
                } catch {
                    // Only a regex that backtracks too much may refuse a text.
                    guard error is TokenizerError else { fatalError("encode threw \(type(of: error)): \(error)") }
                    continue
                }
                guard ids.allSatisfy({ $0 >= 0 && $0 < n }) else { fatalError("id out of the vocabulary of \(n): \(ids)") }
                for id in ids {
                    _ = tokenizer.pieceBytes(id)
                    _ = tokenizer.piece(id)
                }
                let decoded = tokenizer.decode(ids)
                if tokenizer.isLossless, !addSpecial, parseSpecial, decoded != text {
                    fatalError("lossless tokenizer decoded \(text.debugDescription) as \(decoded.debugDescription) (ids \(ids))")
                }
            }
        }
        _ = tokenizer.decode([-1, n, Int.max, Int.min])
        _ = try? tokenizer.ggufMetadata()
    }

    /// The input's last (up to 64) bytes as text.
    public static func tail(_ data: UnsafePointer<UInt8>, _ size: Int) -> String {
        let k = min(64, size)
        return String(decoding: UnsafeBufferPointer(start: data + size - k, count: k), as: UTF8.self)
    }

    public static func expectRefusal(_ error: any Error) {
        guard error is FormatError else { fatalError("tokenizer reader threw \(type(of: error)) instead of FormatError: \(error)") }
    }
}
