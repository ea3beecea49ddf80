import Formats
import Tensors

/// Reads a tokenizer.json into a `HuggingFaceTokenizer`. Every component type is checked
/// against the ones implemented; anything else is refused by name, never approximated.
enum HuggingFaceJSONReader {
    struct Context {
        let path: String
        func fail(_ field: String, _ message: String) -> FormatError {
            FormatError(path: path, location: .field(field), message)
        }
        func string(_ v: JSONValue?, _ field: String) throws -> String {
            guard let s = v?.stringValue else { throw fail(field, "must be a string, found \(v?.kindName ?? "nothing")") }
            return s
        }
        func bool(_ v: JSONValue?, _ field: String, default d: Bool) throws -> Bool {
            guard let v, v != .null else { return d }
            guard case .bool(let b) = v else { throw fail(field, "must be a boolean, found \(v.kindName)") }
            return b
        }
        func int(_ v: JSONValue?, _ field: String) throws -> Int? {
            guard let v, v != .null else { return nil }
            guard let n = v.nonNegativeInt else { throw fail(field, "must be a non-negative integer, found \(v.kindName)") }
            return n
        }
        func type(_ v: JSONValue, _ field: String) throws -> String {
            try string(v["type"], field + ".type")
        }
    }

    static func read(path: String, bytes: UnsafeRawBufferPointer) throws -> HuggingFaceTokenizer {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch let f as JSONParser.Failure {
            throw FormatError(path: path, location: .offset(f.offset), f.message)
        }
        let c = Context(path: path)
        guard case .object = root else { throw c.fail("(root)", "must be an object") }
        guard let modelJSON = root["model"], case .object = modelJSON else { throw c.fail("model", "missing or not an object") }

        // Vocabulary: the model's, then the added tokens (which may add ids).
        var entries: [(String, Int, Float)] = []
        let modelType = try modelJSON["type"].map { try c.string($0, "model.type") } ?? Self.guessModelType(modelJSON)
        switch modelType {
        case "BPE", "WordPiece":
            guard let vocab = modelJSON["vocab"]?.objectValue else { throw c.fail("model.vocab", "missing or not an object") }
            for (token, idValue) in vocab {
                guard let id = idValue.nonNegativeInt, id < Int(Int32.max) else { throw c.fail("model.vocab", "id of '\(token)' is not a non-negative integer") }
                entries.append((token, id, 0))
            }
        case "Unigram":
            guard let vocab = modelJSON["vocab"]?.arrayValue else { throw c.fail("model.vocab", "missing or not an array") }
            for (i, item) in vocab.enumerated() {
                guard let pair = item.arrayValue, pair.count == 2, let token = pair[0].stringValue, let score = Self.number(pair[1]) else {
                    throw c.fail("model.vocab[\(i)]", "must be a [piece, score] pair")
                }
                entries.append((token, i, Float(score)))
            }
        default:
            throw c.fail("model.type", "model type '\(modelType)' is not supported (BPE, WordPiece, Unigram)")
        }
        var added: [HuggingFaceTokenizer.AddedToken] = []
        var addedAttributes: [Int: TokenAttributes] = [:]
        if let list = root["added_tokens"], list != .null {
            guard let items = list.arrayValue else { throw c.fail("added_tokens", "must be an array") }
            for (i, item) in items.enumerated() {
                let field = "added_tokens[\(i)]"
                guard let id = try c.int(item["id"], field + ".id"), id < Int(Int32.max) else { throw c.fail(field + ".id", "missing") }
                let content = try c.string(item["content"], field + ".content")
                let isSpecial = try c.bool(item["special"], field + ".special", default: false)
                added.append(.init(id: Int32(id), content: Array(content.utf8), special: isSpecial,
                                   singleWord: try c.bool(item["single_word"], field + ".single_word", default: false),
                                   lstrip: try c.bool(item["lstrip"], field + ".lstrip", default: false),
                                   rstrip: try c.bool(item["rstrip"], field + ".rstrip", default: false)))
                addedAttributes[id] = isSpecial ? .control : .userDefined
                entries.append((content, id, 0))
            }
        }
        let count = (entries.map(\.1).max() ?? -1) + 1
        // An id is either free or taken by one token text; both the model vocabulary and an
        // added token may name the same pair.
        guard count <= entries.count * 2 + 1024 else { throw c.fail("model.vocab", "ids run to \(count - 1) for \(entries.count) tokens") }
        var texts = [String](repeating: "", count: count)
        var taken = [Bool](repeating: false, count: count)
        var scores = [Float](repeating: 0, count: count)
        var ids: [[UInt8]: Int32] = [:]
        for (token, id, score) in entries {
            let key = Array(token.utf8)
            if taken[id] {
                guard Array(texts[id].utf8) == key else { throw c.fail("model.vocab", "id \(id) is both '\(texts[id])' and '\(token)'") }
                continue
            }
            if let other = ids[key], other != Int32(id) {
                // HF keeps the later id for a repeated text; the added token wins over the model's.
                ids[key] = Int32(id)
            } else {
                ids[key] = Int32(id)
            }
            texts[id] = token
            taken[id] = true
            scores[id] = score
        }
        var attributes = [TokenAttributes](repeating: .normal, count: count)
        for (id, a) in addedAttributes { attributes[id] = a }
        for i in 0..<count where !taken[i] { attributes[i] = [] }
        let vocabulary = Vocabulary(texts: texts, scores: scores, attributes: attributes, ids: ids)

        let model = try readModel(modelJSON, type: modelType, vocabulary: vocabulary, c)
        var t = HuggingFaceTokenizer(vocabulary: vocabulary, model: model)
        t.addedTokens = added
        if let n = root["normalizer"], n != .null { t.normalizer = try readNormalizer(n, "normalizer", c) }
        if let p = root["pre_tokenizer"], p != .null { t.preTokenizer = try readPreTokenizer(p, "pre_tokenizer", c) }
        if let d = root["decoder"], d != .null { t.decoder = try readDecoder(d, "decoder", c) }
        if let p = root["post_processor"], p != .null {
            let (before, after) = try readPostProcessor(p, "post_processor", vocabulary, c)
            t.prefix = before
            t.suffix = after
        }
        return t
    }

    static func guessModelType(_ model: JSONValue) -> String {
        if model["merges"] != nil { return "BPE" }
        if model["continuing_subword_prefix"] != nil || model["max_input_chars_per_word"] != nil { return "WordPiece" }
        if case .array = model["vocab"] ?? .null { return "Unigram" }
        return "BPE"
    }

    static func number(_ v: JSONValue) -> Double? {
        switch v {
        case .int(let x): Double(x)
        case .uint(let x): Double(x)
        case .double(let x): x
        case .float(let x): Double(x)
        default: nil
        }
    }

    static func readModel(_ m: JSONValue, type: String, vocabulary: Vocabulary, _ c: Context) throws -> HFModel {
        func tokenID(_ field: String) throws -> Int32? {
            guard let v = m[field], v != .null else { return nil }
            let text = try c.string(v, "model.\(field)")
            guard let id = vocabulary.id(text) else { throw c.fail("model.\(field)", "'\(text)' is not in the vocabulary") }
            return id
        }
        switch type {
        case "BPE":
            if let dropout = m["dropout"], dropout != .null { throw c.fail("model.dropout", "BPE dropout is random; not supported") }
            guard let list = m["merges"]?.arrayValue else { throw c.fail("model.merges", "missing or not an array") }
            let prefix = try m["continuing_subword_prefix"].flatMap { $0 == .null ? nil : try c.string($0, "model.continuing_subword_prefix") }
            var table: [UInt64: BPEMerges.Merge] = [:]
            table.reserveCapacity(list.count)
            for (i, item) in list.enumerated() {
                let left: String, right: String
                if let s = item.stringValue {
                    let parts = s.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                    guard parts.count == 2 else { throw c.fail("model.merges[\(i)]", "'\(s)' is not two tokens separated by a space") }
                    left = String(parts[0]); right = String(parts[1])
                } else if let pair = item.arrayValue, pair.count == 2, let l = pair[0].stringValue, let r = pair[1].stringValue {
                    left = l; right = r
                } else {
                    throw c.fail("model.merges[\(i)]", "must be \"a b\" or [\"a\", \"b\"]")
                }
                guard let l = vocabulary.id(left), let r = vocabulary.id(right) else {
                    throw c.fail("model.merges[\(i)]", "names a token that is not in model.vocab")
                }
                var mergedText = left
                if let prefix, right.hasPrefix(prefix) { mergedText += right.dropFirst(prefix.count) } else { mergedText += right }
                guard let merged = vocabulary.id(mergedText) else {
                    throw c.fail("model.merges[\(i)]", "makes '\(mergedText)', which is not in model.vocab")
                }
                let key = BPEMerges.key(l, r)
                if table[key] == nil { table[key] = .init(rank: Int32(i), merged: merged) }
            }
            return .bpe(.init(merges: BPEMerges(table: table), unknown: try tokenID("unk_token"),
                              continuingSubwordPrefix: prefix,
                              endOfWordSuffix: try m["end_of_word_suffix"].flatMap { $0 == .null ? nil : try c.string($0, "model.end_of_word_suffix") },
                              fuseUnknown: try c.bool(m["fuse_unk"], "model.fuse_unk", default: false),
                              byteFallback: try c.bool(m["byte_fallback"], "model.byte_fallback", default: false),
                              ignoreMerges: try c.bool(m["ignore_merges"], "model.ignore_merges", default: false)))
        case "WordPiece":
            return .wordPiece(.init(unknown: try tokenID("unk_token"),
                                    prefix: try m["continuing_subword_prefix"].map { try c.string($0, "model.continuing_subword_prefix") } ?? "##",
                                    maximumCharacters: try c.int(m["max_input_chars_per_word"], "model.max_input_chars_per_word") ?? 100))
        default:
            var unknown: Int32? = nil
            if let u = try c.int(m["unk_id"], "model.unk_id") {
                guard u < vocabulary.count else { throw c.fail("model.unk_id", "\(u) is past the vocabulary") }
                unknown = Int32(u)
            }
            var minimum = Float.greatestFiniteMagnitude
            var longest = 1
            for (i, s) in vocabulary.scores.enumerated() {
                minimum = min(minimum, s)
                longest = max(longest, vocabulary.texts[i].utf8.count)
            }
            return .unigram(.init(unknown: unknown, byteFallback: try c.bool(m["byte_fallback"], "model.byte_fallback", default: false),
                                  unknownScore: Double(minimum) - 10, maximumPieceBytes: longest, fuseUnknown: true))
        }
    }

    static func pattern(_ v: JSONValue?, _ field: String, _ c: Context) throws -> HFPattern {
        guard let v else { throw c.fail(field, "missing") }
        do {
            if let s = v["String"]?.stringValue { return HFPattern(literal: s) }
            if let r = v["Regex"]?.stringValue { return try HFPattern(regex: r) }
        } catch let e as SplitPattern.Failure {
            throw c.fail(field, e.description)
        }
        throw c.fail(field, "must be {\"String\": ...} or {\"Regex\": ...}")
    }

    static func readNormalizer(_ v: JSONValue, _ field: String, _ c: Context) throws -> HFNormalizer {
        let type = try c.type(v, field)
        switch type {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "StripAccents": return .stripAccents
        case "Strip":
            return .strip(left: try c.bool(v["strip_left"], field + ".strip_left", default: true),
                          right: try c.bool(v["strip_right"], field + ".strip_right", default: true))
        case "Replace":
            return .replace(pattern: try pattern(v["pattern"], field + ".pattern", c), content: try c.string(v["content"], field + ".content"))
        case "Prepend":
            return .prepend(try c.string(v["prepend"], field + ".prepend"))
        case "BertNormalizer":
            let lower = try c.bool(v["lowercase"], field + ".lowercase", default: true)
            return .bert(cleanText: try c.bool(v["clean_text"], field + ".clean_text", default: true),
                         chineseCharacters: try c.bool(v["handle_chinese_chars"], field + ".handle_chinese_chars", default: true),
                         stripAccents: try c.bool(v["strip_accents"], field + ".strip_accents", default: lower),
                         lowercase: lower)
        case "Sequence":
            guard let list = v["normalizers"]?.arrayValue else { throw c.fail(field + ".normalizers", "missing") }
            return .sequence(try list.enumerated().map { try readNormalizer($1, "\(field).normalizers[\($0)]", c) })
        default:
            throw c.fail(field + ".type", "normalizer '\(type)' is not supported (NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace, Prepend, BertNormalizer, Sequence)")
        }
    }

    static func behavior(_ v: JSONValue?, _ field: String, _ c: Context) throws -> HFPreTokenizer.Behavior {
        let s = try c.string(v, field)
        guard let b = HFPreTokenizer.Behavior(rawValue: s) else { throw c.fail(field, "unknown split behavior '\(s)'") }
        return b
    }

    static func metaspaceScheme(_ v: JSONValue, _ field: String, _ c: Context) throws -> (UInt32, String) {
        let replacement = try v["replacement"].map { try c.string($0, field + ".replacement") } ?? "\u{2581}"
        guard replacement.unicodeScalars.count == 1 else { throw c.fail(field + ".replacement", "must be one character") }
        var scheme = "always"
        if let s = v["prepend_scheme"], s != .null {
            scheme = try c.string(s, field + ".prepend_scheme")
            guard ["always", "never", "first"].contains(scheme) else { throw c.fail(field + ".prepend_scheme", "unknown scheme '\(scheme)'") }
        } else if let legacy = v["add_prefix_space"] {
            scheme = try c.bool(legacy, field + ".add_prefix_space", default: true) ? "always" : "never"
        }
        return (replacement.unicodeScalars.first!.value, scheme)
    }

    static func readPreTokenizer(_ v: JSONValue, _ field: String, _ c: Context) throws -> HFPreTokenizer {
        let type = try c.type(v, field)
        switch type {
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: try c.bool(v["add_prefix_space"], field + ".add_prefix_space", default: true),
                              useRegex: try c.bool(v["use_regex"], field + ".use_regex", default: true))
        case "Split":
            return .split(try pattern(v["pattern"], field + ".pattern", c), try behavior(v["behavior"], field + ".behavior", c),
                          invert: try c.bool(v["invert"], field + ".invert", default: false))
        case "Metaspace":
            let (r, scheme) = try metaspaceScheme(v, field, c)
            return .metaspace(replacement: r, prependScheme: scheme, split: try c.bool(v["split"], field + ".split", default: true))
        case "BertPreTokenizer": return .bert
        case "Whitespace": return .whitespace
        case "WhitespaceSplit": return .whitespaceSplit
        case "Digits": return .digits(individual: try c.bool(v["individual_digits"], field + ".individual_digits", default: false))
        case "Punctuation":
            return .punctuation(v["behavior"] == nil ? .isolated : try behavior(v["behavior"], field + ".behavior", c))
        case "Sequence":
            guard let list = v["pretokenizers"]?.arrayValue else { throw c.fail(field + ".pretokenizers", "missing") }
            return .sequence(try list.enumerated().map { try readPreTokenizer($1, "\(field).pretokenizers[\($0)]", c) })
        default:
            throw c.fail(field + ".type", "pre-tokenizer '\(type)' is not supported (ByteLevel, Split, Metaspace, BertPreTokenizer, Whitespace, WhitespaceSplit, Digits, Punctuation, Sequence)")
        }
    }

    static func readDecoder(_ v: JSONValue, _ field: String, _ c: Context) throws -> HFDecoder {
        let type = try c.type(v, field)
        switch type {
        case "ByteLevel": return .byteLevel
        case "Metaspace":
            let (r, scheme) = try metaspaceScheme(v, field, c)
            return .metaspace(replacement: r, prependScheme: scheme)
        case "WordPiece":
            return .wordPiece(prefix: try v["prefix"].map { try c.string($0, field + ".prefix") } ?? "##",
                              cleanup: try c.bool(v["cleanup"], field + ".cleanup", default: true))
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            let content = try c.string(v["content"], field + ".content")
            guard content.unicodeScalars.count == 1 else { throw c.fail(field + ".content", "must be one character") }
            return .strip(content: content.unicodeScalars.first!.value, start: try c.int(v["start"], field + ".start") ?? 0,
                          stop: try c.int(v["stop"], field + ".stop") ?? 0)
        case "Replace":
            return .replace(pattern: try pattern(v["pattern"], field + ".pattern", c), content: try c.string(v["content"], field + ".content"))
        case "BPEDecoder":
            return .bpe(suffix: try v["suffix"].map { try c.string($0, field + ".suffix") } ?? "</w>")
        case "Sequence":
            guard let list = v["decoders"]?.arrayValue else { throw c.fail(field + ".decoders", "missing") }
            return .sequence(try list.enumerated().map { try readDecoder($1, "\(field).decoders[\($0)]", c) })
        default:
            throw c.fail(field + ".type", "decoder '\(type)' is not supported (ByteLevel, Metaspace, WordPiece, ByteFallback, Fuse, Strip, Replace, BPEDecoder, Sequence)")
        }
    }

    /// The ids the post-processor adds before and after a single sequence.
    static func readPostProcessor(_ v: JSONValue, _ field: String, _ vocabulary: Vocabulary, _ c: Context) throws -> ([Int], [Int]) {
        let type = try c.type(v, field)
        func pairID(_ key: String) throws -> Int {
            guard let pair = v[key]?.arrayValue, pair.count == 2, let id = pair[1].nonNegativeInt, id < vocabulary.count else {
                throw c.fail("\(field).\(key)", "must be [token, id] with an id in the vocabulary")
            }
            return id
        }
        switch type {
        case "ByteLevel": return ([], [])
        case "BertProcessing", "RobertaProcessing": return ([try pairID("cls")], [try pairID("sep")])
        case "TemplateProcessing":
            guard let single = v["single"]?.arrayValue else { throw c.fail(field + ".single", "missing") }
            var before: [Int] = [], after: [Int] = []
            var seenSequence = false
            for (i, piece) in single.enumerated() {
                if piece["Sequence"] != nil {
                    seenSequence = true
                    continue
                }
                guard let name = piece["SpecialToken"]?["id"]?.stringValue else {
                    throw c.fail("\(field).single[\(i)]", "must be a Sequence or a SpecialToken")
                }
                guard let ids = v["special_tokens"]?[name]?["ids"]?.arrayValue else {
                    throw c.fail("\(field).special_tokens", "has no '\(name)'")
                }
                let list = try ids.map { x -> Int in
                    guard let id = x.nonNegativeInt, id < vocabulary.count else { throw c.fail("\(field).special_tokens.\(name)", "id out of the vocabulary") }
                    return id
                }
                if seenSequence { after += list } else { before += list }
            }
            return (before, after)
        case "Sequence":
            guard let list = v["processors"]?.arrayValue else { throw c.fail(field + ".processors", "missing") }
            var before: [Int] = [], after: [Int] = []
            for (i, p) in list.enumerated() {
                let (b, a) = try readPostProcessor(p, "\(field).processors[\(i)]", vocabulary, c)
                before = b + before
                after += a
            }
            return (before, after)
        default:
            throw c.fail(field + ".type", "post-processor '\(type)' is not supported (ByteLevel, BertProcessing, RobertaProcessing, TemplateProcessing, Sequence)")
        }
    }
}
