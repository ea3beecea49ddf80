import Formats
import Tensors

/// Reads a sentencepiece `tokenizer.model` (a `ModelProto` protobuf) into a `LlamaVocabulary`,
/// the way llama.cpp's converter turns it into `tokenizer.ggml.*`: BPE models become llama's
/// SPM vocabulary, Unigram models the T5 (UGM) one with the precompiled normalization map.
///
/// A small wire-format walk of its own: Formats' ProtobufWire is internal to the ONNX reader.
/// Every length is checked against the bytes left, so a hostile file is an error naming the
/// byte offset, never a trap or an allocation larger than the file.
enum SentencePieceModelReader {
    struct Wire {
        let bytes: [UInt8]
        let path: String

        func fail(_ offset: Int, _ field: String, _ message: String) -> FormatError {
            FormatError(path: path, location: .fieldAtOffset(field, offset), message)
        }

        func varint(_ offset: inout Int, _ end: Int, _ field: String) throws -> UInt64 {
            let start = offset
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard offset < end else { throw fail(start, field, "varint runs past the end of its message") }
                let b = bytes[offset]
                offset += 1
                value |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return value }
                shift += 7
                guard shift < 64 else { throw fail(start, field, "varint longer than 10 bytes") }
            }
        }

        /// Calls `body(fieldNumber, wireType, payloadRange, valueOffset)` for each field in `range`.
        func fields(_ range: Range<Int>, _ message: String, _ body: (UInt64, UInt64, Range<Int>, Int) throws -> Void) throws {
            var offset = range.lowerBound
            while offset < range.upperBound {
                let tag = try varint(&offset, range.upperBound, message)
                let number = tag >> 3, wire = tag & 7
                let start = offset
                switch wire {
                case 0:
                    _ = try varint(&offset, range.upperBound, message)
                case 1, 5:
                    let n = wire == 1 ? 8 : 4
                    guard range.upperBound - offset >= n else { throw fail(start, message, "field \(number) runs past the end of its message") }
                    offset += n
                case 2:
                    let length = try varint(&offset, range.upperBound, message)
                    guard let n = Checked.int(length), n <= range.upperBound - offset else {
                        throw fail(start, message, "field \(number) of \(length) bytes runs past the end of its message")
                    }
                    offset += n
                    try body(number, wire, (offset - n)..<offset, start)
                    continue
                default:
                    throw fail(start, message, "wire type \(wire) of field \(number) is not supported")
                }
                try body(number, wire, start..<offset, start)
            }
        }

        func varintValue(_ range: Range<Int>, _ field: String) throws -> UInt64 {
            var o = range.lowerBound
            return try varint(&o, range.upperBound, field)
        }

        func float(_ range: Range<Int>) -> Float {
            let b = bytes[range.lowerBound..<(range.lowerBound + 4)]
            let u = b.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
            return Float(bitPattern: u)
        }
    }

    static func read(path: String) throws -> LlamaVocabulary {
        let wire = Wire(bytes: try FileKind.bytes(path), path: path)
        var texts: [String] = []
        var scores: [Float] = []
        var attributes: [TokenAttributes] = []
        var modelType: UInt64 = 1
        var byteFallback = false
        var treatWhitespaceAsSuffix = false
        var ids: [Int64] = [0, 1, 2, -1]  // unk, bos, eos, pad
        var addDummyPrefix = true
        var removeExtraWhitespaces = true
        var escapeWhitespaces = true
        var charsmap: [UInt8] = []
        var normalizerName = ""
        var sawTrainerSpec = false

        try wire.fields(0..<wire.bytes.count, "ModelProto") { number, type, range, at in
            switch (number, type) {
            case (1, 2):
                var text: String? = nil
                var score: Float = 0
                var kind: UInt64 = 1
                try wire.fields(range, "pieces[\(texts.count)]") { n, t, r, a in
                    switch (n, t) {
                    case (1, 2):
                        guard let s = String(validating: wire.bytes[r], as: UTF8.self) else {
                            throw wire.fail(a, "pieces[\(texts.count)].piece", "is not valid UTF-8")
                        }
                        text = s
                    case (2, 5): score = wire.float(r)
                    case (3, 0): kind = try wire.varintValue(r, "pieces[\(texts.count)].type")
                    default: break
                    }
                }
                guard let text else { throw wire.fail(at, "pieces[\(texts.count)]", "has no piece text") }
                texts.append(text)
                scores.append(score)
                attributes.append(TokenAttributes(ggufTokenType: Int32(clamping: kind)))
            case (2, 2):
                sawTrainerSpec = true
                try wire.fields(range, "trainer_spec") { n, t, r, _ in
                    switch (n, t) {
                    case (3, 0): modelType = try wire.varintValue(r, "trainer_spec.model_type")
                    case (35, 0): byteFallback = try wire.varintValue(r, "trainer_spec.byte_fallback") != 0
                    case (24, 0): treatWhitespaceAsSuffix = try wire.varintValue(r, "trainer_spec.treat_whitespace_as_suffix") != 0
                    case (40...43, 0):
                        ids[Int(n - 40)] = Int64(Int32(truncatingIfNeeded: try wire.varintValue(r, "trainer_spec.id")))
                    default: break
                    }
                }
            case (3, 2):
                try wire.fields(range, "normalizer_spec") { n, t, r, _ in
                    switch (n, t) {
                    case (1, 2): normalizerName = String(decoding: wire.bytes[r], as: UTF8.self)
                    case (2, 2): charsmap = Array(wire.bytes[r])
                    case (3, 0): addDummyPrefix = try wire.varintValue(r, "normalizer_spec.add_dummy_prefix") != 0
                    case (4, 0): removeExtraWhitespaces = try wire.varintValue(r, "normalizer_spec.remove_extra_whitespaces") != 0
                    case (5, 0): escapeWhitespaces = try wire.varintValue(r, "normalizer_spec.escape_whitespaces") != 0
                    default: break
                    }
                }
            default: break
            }
        }
        // Every trainer writes trainer_spec after the pieces: a file without it is cut short.
        guard sawTrainerSpec else { throw FormatError(path: path, location: .field("trainer_spec"), "missing (is the file truncated?)") }
        guard !texts.isEmpty else { throw FormatError(path: path, location: .field("pieces"), "the model has no pieces") }
        var index: [[UInt8]: Int32] = [:]
        var longest = 0
        for (i, t) in texts.enumerated() {
            let key = Array(t.utf8)
            guard index[key] == nil else { throw FormatError(path: path, location: .field("pieces[\(i)]"), "piece '\(t)' repeats piece \(index[key]!)") }
            index[key] = Int32(i)
            longest = max(longest, key.count)
        }
        let model: LlamaVocabulary.Model
        switch modelType {
        case 1: model = .ugm
        case 2: model = .spm
        default:
            throw FormatError(path: path, location: .field("trainer_spec.model_type"), "model type \(modelType) is not supported (1 unigram, 2 BPE)")
        }
        _ = byteFallback
        var v = LlamaVocabulary(model: model, modelName: model == .spm ? "llama" : "t5", preName: nil,
                                vocabulary: Vocabulary(texts: texts, scores: scores, attributes: attributes, ids: index),
                                merges: nil, mergeTexts: [])
        v.maximumTokenBytes = longest
        v.tokenTypes = attributes.map(\.ggufTokenType)
        v.charsmapBytes = charsmap
        v.addSpacePrefix = addDummyPrefix
        v.escapeWhitespaces = escapeWhitespaces
        v.treatWhitespaceAsSuffix = treatWhitespaceAsSuffix
        v.removeExtraWhitespaces = removeExtraWhitespaces
        v.sentencePieceNormalization = true
        if model == .ugm, !charsmap.isEmpty {
            do { v.charsmap = try PrecompiledCharsmap(charsmap) } catch {
                throw FormatError(path: path, location: .field("normalizer_spec.precompiled_charsmap"), "\(error)")
            }
        } else if model == .spm, !charsmap.isEmpty, normalizerName != "identity" {
            v.charsmap = try? PrecompiledCharsmap(charsmap)
        }
        func valid(_ x: Int64) -> Int? { x >= 0 && x < Int64(texts.count) ? Int(x) : nil }
        v.special.unk = valid(ids[0])
        v.special.bos = valid(ids[1])
        v.special.eos = valid(ids[2])
        v.special.pad = valid(ids[3])
        v.addBOS = model == .spm && v.special.bos != nil
        v.addEOS = model == .ugm && v.special.eos != nil
        v.finishSpecialTokens()
        if model == .ugm {
            var minimum = Float.greatestFiniteMagnitude
            for i in texts.indices where attributes[i].contains(.normal) { minimum = min(minimum, scores[i]) }
            v.unknownScore = Double(minimum) - 10
        }
        return v
    }
}
