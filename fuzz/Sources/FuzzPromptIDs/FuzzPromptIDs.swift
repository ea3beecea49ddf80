import Formats
import FuzzSupport

/// libFuzzer's entry point. Three bytes set the limits (vocabulary, ids per sequence) and the
/// point where the text is cut in two pieces; the rest is a `--prompt-ids` file. The streaming
/// parser is held to a plain reference reading of the whole text, and must give the same
/// answer wherever the stream is cut.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPromptIDs(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 3 else { return 0 }
    let limits = PromptIDsLimits(vocabulary: Int(data[0]) + 1, tokensPerSequence: Int(data[1] % 64) + 1,
                                 tokensPerSequenceReason: "the fuzzer's context", sequences: 16, totalTokens: 256, fileBytes: 1 << 20)
    let text = Array(UnsafeBufferPointer(start: data + 3, count: size - 3))
    let cut = text.isEmpty ? 0 : Int(data[2]) % (text.count + 1)

    let whole = parse(text, limits: limits, cuts: [])
    let pieces = parse(text, limits: limits, cuts: [cut])
    guard whole == pieces else { fatalError("cut at \(cut): \(pieces) differs from the whole text's \(whole)") }

    switch (whole, ReferencePromptIDs.read(text, limits: limits)) {
    case (.success(let got), .accepted(let expected)):
        guard got == expected else { fatalError("parsed \(got), the reference reads \(expected)") }
    case (.failure(let error), .refused):
        guard error.line >= 1, error.offset >= 0, error.offset <= text.count, !error.message.isEmpty else {
            fatalError("an error at line \(error.line), offset \(error.offset) of \(text.count) bytes: '\(error.message)'")
        }
    case (.success(let got), .refused):
        fatalError("accepted \(got), which the reference refuses")
    case (.failure(let error), .accepted(let expected)):
        fatalError("refused (\(error)), the reference reads \(expected)")
    }
    return 0
}

private func parse(_ text: [UInt8], limits: PromptIDsLimits, cuts: [Int]) -> Result<[[Int]], PromptIDsParser.Error> {
    var parser = PromptIDsParser(limits: limits)
    var start = 0
    do {
        for end in cuts + [text.count] {
            try parser.feed(Array(text[start..<end]))
            start = end
        }
        try parser.finish()
    } catch {
        return .failure(error)
    }
    return .success(parser.sequences)
}

/// The grammar of a `--prompt-ids` file read the plain way, whole: an optional UTF-8 BOM;
/// lines split at LF; on each line, ids of decimal digits separated by commas, with spaces, tabs
/// and CRs around them; lines of blanks only are skipped.
enum ReferencePromptIDs {
    enum Outcome { case accepted([[Int]]), refused }

    static func read(_ bytes: [UInt8], limits: PromptIDsLimits) -> Outcome {
        var bytes = bytes[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        var sequences: [[Int]] = []
        var total = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let blanks: Set<UInt8> = [0x20, 0x09, 0x0D]
            if line.allSatisfy({ blanks.contains($0) }) { continue }
            var ids: [Int] = []
            for part in line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                let digits = part.drop { blanks.contains($0) }.reversed().drop { blanks.contains($0) }.reversed()
                guard !digits.isEmpty, digits.allSatisfy({ (0x30...0x39).contains($0) }) else { return .refused }
                guard digits.count <= 18 else { return .refused }
                let id = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                guard id < limits.vocabulary else { return .refused }
                ids.append(id)
            }
            total += ids.count
            guard ids.count <= limits.tokensPerSequence, total <= limits.totalTokens else { return .refused }
            sequences.append(ids)
            guard sequences.count <= limits.sequences else { return .refused }
        }
        return .accepted(sequences)
    }
}
