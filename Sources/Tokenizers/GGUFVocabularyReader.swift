import Formats
import Tensors

/// Reads the `tokenizer.ggml.*` keys of a GGUF (a model, a vocabulary-only file or a .xnor)
/// into a `LlamaVocabulary`, with llama.cpp's defaults and checks (`llama_vocab::impl::load`).
enum GGUFVocabularyReader {
    static func read(path: String, metadata: [(key: String, value: GGUFMetadataValue)]) throws -> LlamaVocabulary {
        var keys: [String: GGUFMetadataValue] = [:]
        for (k, v) in metadata { keys[k] = v }
        func fail(_ key: String, _ message: String) -> FormatError {
            FormatError(path: path, location: .field(key), message)
        }
        func string(_ key: String) throws -> String? {
            guard let v = keys[key] else { return nil }
            guard case .string(let s) = v else { throw fail(key, "must be a STRING, found \(v.typeName)") }
            return s
        }
        func bool(_ key: String) throws -> Bool? {
            guard let v = keys[key] else { return nil }
            guard case .bool(let b) = v else { throw fail(key, "must be a BOOL, found \(v.typeName)") }
            return b
        }
        func integer(_ key: String) throws -> Int? {
            guard let v = keys[key] else { return nil }
            switch v {
            case .uint8(let x): return Int(x)
            case .int8(let x): return Int(x)
            case .uint16(let x): return Int(x)
            case .int16(let x): return Int(x)
            case .uint32(let x): return Int(x)
            case .int32(let x): return Int(x)
            case .uint64(let x): return Checked.int(x) ?? -1
            case .int64(let x): return Int(x)
            default: throw fail(key, "must be an integer, found \(v.typeName)")
            }
        }
        func array(_ key: String) throws -> GGUFArray? {
            guard let v = keys[key] else { return nil }
            guard case .array(let a) = v else { throw fail(key, "must be an array, found \(v.typeName)") }
            return a
        }

        guard let modelName = try string("tokenizer.ggml.model") else {
            throw fail("tokenizer.ggml.model", "missing: the file has no tokenizer")
        }
        let model: LlamaVocabulary.Model
        switch modelName {
        case "llama": model = .spm
        case "gpt2", "gemma4": model = .bpe
        case "bert": model = .wpm
        case "t5": model = .ugm
        default:
            throw fail("tokenizer.ggml.model", "tokenizer model '\(modelName)' is not supported (llama, gpt2, gemma4, bert, t5)")
        }
        guard let tokenArray = try array("tokenizer.ggml.tokens") else { throw fail("tokenizer.ggml.tokens", "missing") }
        guard tokenArray.elementType == .string else {
            throw fail("tokenizer.ggml.tokens", "must be an ARRAY[STRING], found \(tokenArray.typeName)")
        }
        let n = tokenArray.count
        guard n > 0, n <= Int(Int32.max) else { throw fail("tokenizer.ggml.tokens", "has \(n) tokens") }

        var scores = [Float](repeating: 0, count: n)
        if let s = try array("tokenizer.ggml.scores") {
            guard s.count >= n else { throw fail("tokenizer.ggml.scores", "has \(s.count) entries for \(n) tokens") }
            for i in 0..<n {
                switch s[i] {
                case .float32(let f): scores[i] = f
                case .int32(let x): scores[i] = Float(x)
                default: throw fail("tokenizer.ggml.scores", "must be an ARRAY[FLOAT32] or ARRAY[INT32], found \(s.typeName)")
                }
            }
        }
        var attributes = [TokenAttributes](repeating: .normal, count: n)
        if let t = try array("tokenizer.ggml.token_type") {
            guard t.elementType == .int32 else { throw fail("tokenizer.ggml.token_type", "must be an ARRAY[INT32], found \(t.typeName)") }
            guard t.count >= n else { throw fail("tokenizer.ggml.token_type", "has \(t.count) entries for \(n) tokens") }
            for i in 0..<n {
                if case .int32(let x) = t[i] { attributes[i] = TokenAttributes(ggufTokenType: x) }
            }
        }
        var texts: [String] = []
        texts.reserveCapacity(n)
        var ids: [[UInt8]: Int32] = [:]
        ids.reserveCapacity(n)
        var maximumBytes = 0
        for i in 0..<n {
            guard case .string(var text) = tokenArray[i] else { continue }
            // llama.cpp renames empty tokens so the index stays one to one.
            if text.isEmpty { text = "[EMPTY_\(i)]" }
            let key = Array(text.utf8)
            guard ids[key] == nil else {
                throw fail("tokenizer.ggml.tokens", "token \(i) '\(text)' repeats token \(ids[key]!)")
            }
            ids[key] = Int32(i)
            maximumBytes = max(maximumBytes, text.utf8.count)
            texts.append(text)
        }
        var v = LlamaVocabulary(model: model, modelName: modelName, preName: try string("tokenizer.ggml.pre"),
                                vocabulary: Vocabulary(texts: texts, scores: scores, attributes: attributes, ids: ids),
                                merges: nil, mergeTexts: [])
        v.maximumTokenBytes = maximumBytes
        v.sourceKeys = metadata.filter { $0.key.hasPrefix("tokenizer.") }
        v.tokenTypes = attributes.map(\.ggufTokenType)
        v.name = try string("general.name")
        v.architecture = try string("general.architecture")
        v.chatTemplate = try string("tokenizer.chat_template")

        // Defaults per model, as llama.cpp sets them.
        var defaults = SpecialTokens()
        switch model {
        case .spm:
            defaults.bos = 1; defaults.eos = 2; defaults.unk = 0
            v.addSpacePrefix = true; v.addBOS = true
        case .wpm:
            defaults.bos = 101; defaults.unk = 100; defaults.sep = 102; defaults.pad = 0; defaults.mask = 103
            v.addBOS = true; v.addSEP = true
        case .bpe:
            if modelName == "gpt2" { defaults.bos = 11; defaults.eos = 11 }
            v.escapeWhitespaces = false
        case .ugm:
            defaults.eos = 1; defaults.unk = 2; defaults.pad = 0
            v.addEOS = true
        }

        if model == .bpe {
            let preName = modelName == "gemma4" ? "gemma4" : (v.preName ?? "default")
            guard let pre = try LlamaPreTokenizer(name: preName) else {
                throw fail("tokenizer.ggml.pre", "pre-tokenizer '\(preName)' is unknown or not supported; refusing to tokenize approximately")
            }
            v.preTokenizer = pre
            v.escapeWhitespaces = pre.escapeWhitespace
            if pre.addsBOS { v.addBOS = true }
            guard let mergeArray = try array("tokenizer.ggml.merges") else { throw fail("tokenizer.ggml.merges", "missing for a BPE vocabulary") }
            guard mergeArray.elementType == .string else { throw fail("tokenizer.ggml.merges", "must be an ARRAY[STRING], found \(mergeArray.typeName)") }
            var table: [UInt64: BPEMerges.Merge] = [:]
            table.reserveCapacity(mergeArray.count)
            var mergeTexts: [String] = []
            mergeTexts.reserveCapacity(mergeArray.count)
            for i in 0..<mergeArray.count {
                guard case .string(let line) = mergeArray[i] else { continue }
                mergeTexts.append(line)
                let bytes = Array(line.utf8)
                // llama.cpp splits at the first space after the first byte.
                guard bytes.count > 1, let space = bytes[1...].firstIndex(of: 0x20) else {
                    throw fail("tokenizer.ggml.merges", "merge \(i) '\(line)' is not two tokens separated by a space")
                }
                let left = Array(bytes[..<space]), right = Array(bytes[(space + 1)...])
                guard let l = ids[left], let r = ids[right] else {
                    throw fail("tokenizer.ggml.merges", "merge \(i) '\(line)' names a token that is not in tokenizer.ggml.tokens")
                }
                guard let m = ids[left + right] else {
                    throw fail("tokenizer.ggml.merges", "merge \(i) '\(line)' makes a token that is not in tokenizer.ggml.tokens")
                }
                let key = BPEMerges.key(l, r)
                if table[key] == nil { table[key] = BPEMerges.Merge(rank: Int32(i), merged: m) }
            }
            v.merges = BPEMerges(table: table)
            v.mergeTexts = mergeTexts
            if pre.byteEncode {
                v.byteTokenIDs = (0..<256).map { b in ids[Array(String(Unicode.Scalar(ByteLevel.codepointOfByte[b])!).utf8)] ?? -1 }
            }
        }
        if let b = try bool("tokenizer.ggml.add_space_prefix") { v.addSpacePrefix = b }
        if let b = try bool("tokenizer.ggml.remove_extra_whitespaces") { v.removeExtraWhitespaces = b }

        if model == .ugm, let blob = try array("tokenizer.ggml.precompiled_charsmap") {
            guard blob.elementType == .uint8 || blob.elementType == .int8 else {
                throw fail("tokenizer.ggml.precompiled_charsmap", "must be an ARRAY[UINT8], found \(blob.typeName)")
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(blob.count)
            for i in 0..<blob.count {
                switch blob[i] {
                case .uint8(let x): bytes.append(x)
                case .int8(let x): bytes.append(UInt8(bitPattern: x))
                default: break
                }
            }
            do { v.charsmap = try PrecompiledCharsmap(bytes) } catch { throw fail("tokenizer.ggml.precompiled_charsmap", "\(error)") }
        }

        // Special ids: a default out of range is dropped; a key out of range keeps the default.
        func special(_ key: String, _ fallback: Int?) throws -> Int? {
            var id = fallback
            if let d = id, d >= n { id = nil }
            if let k = try integer("tokenizer.ggml.\(key)"), k >= 0, k < n { id = k }
            return id
        }
        var s = SpecialTokens()
        s.bos = try special("bos_token_id", defaults.bos)
        s.eos = try special("eos_token_id", defaults.eos)
        s.eot = try special("eot_token_id", nil)
        s.eom = try special("eom_token_id", nil)
        s.unk = try special("unknown_token_id", defaults.unk)
        s.sep = try special("seperator_token_id", defaults.sep)
        s.pad = try special("padding_token_id", defaults.pad)
        s.mask = try special("mask_token_id", defaults.mask)
        s.cls = try special("cls_token_id", nil)
        s.fimPre = try special("fim_pre_token_id", nil) ?? special("prefix_token_id", nil)
        s.fimSuf = try special("fim_suf_token_id", nil) ?? special("suffix_token_id", nil)
        s.fimMid = try special("fim_mid_token_id", nil) ?? special("middle_token_id", nil)
        s.fimPad = try special("fim_pad_token_id", nil)
        s.fimRep = try special("fim_rep_token_id", nil)
        s.fimSep = try special("fim_sep_token_id", nil)
        v.special = s
        if let b = try bool("tokenizer.ggml.add_bos_token") { v.addBOS = b }
        if let b = try bool("tokenizer.ggml.add_eos_token") { v.addEOS = b }
        if let b = try bool("tokenizer.ggml.add_sep_token") { v.addSEP = b }
        if v.preTokenizer?.name == "gemma4" { v.addBOS = true }
        if v.addBOS, v.special.bos == nil, model != .wpm {
            throw fail("tokenizer.ggml.bos_token_id", "the vocabulary adds a BOS token but has none")
        }
        // llama.cpp's BertNormalizer options default to lowercase and strip accents.
        v.lowercase = true
        if let b = try bool("tokenizer.ggml.normalizer.lowercase") { v.lowercase = b }
        v.stripAccents = v.lowercase
        if let b = try bool("tokenizer.ggml.normalizer.strip_accents") { v.stripAccents = b }
        v.finishSpecialTokens()
        if model == .ugm {
            var minimum = Float.greatestFiniteMagnitude
            for i in 0..<n where v.vocabulary.attributes[i].contains(.normal) { minimum = min(minimum, v.vocabulary.scores[i]) }
            v.unknownScore = Double(minimum) - 10
        }
        return v
    }
}

extension LlamaVocabulary {
    /// llama.cpp's end-of-text detection by token text, the end-of-generation set, per-model
    /// strip attributes and the longest-first special token list.
    mutating func finishSpecialTokens() {
        let texts = vocabulary.texts
        func mark(_ id: Int) { vocabulary.attributes[id].insert(.control) }
        let eotTexts: Set<String> = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
                                     "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"]
        let fimPre: Set<String> = ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"]
        let fimSuf: Set<String> = ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"]
        let fimMid: Set<String> = ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"]
        let fimPad: Set<String> = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]
        let fimRep: Set<String> = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]
        for (i, t) in texts.enumerated() {
            if special.eot == nil, eotTexts.contains(t) { special.eot = i; mark(i) }
            if special.eom == nil, t == "<|eom_id|>" { special.eom = i; mark(i) }
            if special.fimPre == nil, fimPre.contains(t) { special.fimPre = i; mark(i) }
            if special.fimSuf == nil, fimSuf.contains(t) { special.fimSuf = i; mark(i) }
            if special.fimMid == nil, fimMid.contains(t) { special.fimMid = i; mark(i) }
            if special.fimPad == nil, fimPad.contains(t) { special.fimPad = i; mark(i) }
            if special.fimRep == nil, fimRep.contains(t) { special.fimRep = i; mark(i) }
            if special.fimSep == nil, t == "<|file_sep|>" { special.fimSep = i; mark(i) }
        }
        for i in texts.indices where vocabulary.attributes[i].contains(.control) && texts[i].contains("unused") {
            vocabulary.attributes[i].insert(.unused)
        }
        var eog: Set<Int> = []
        for id in [special.fimPad, special.fimRep, special.fimSep].compactMap({ $0 }) { eog.insert(id) }
        let eogTexts: Set<String> = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
                                     "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
                                     "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
                                     "<｜end▁of▁sentence｜>", "[e~["]
        for (i, t) in texts.enumerated() where eogTexts.contains(t) {
            eog.insert(i)
            mark(i)
        }
        for (i, t) in texts.enumerated() where ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"].contains(t) {
            vocabulary.attributes[i] = .userDefined
        }
        for id in [special.eos, special.eot, special.eom].compactMap({ $0 }) { eog.insert(id) }
        let eogText = Set(eog.map { texts[$0] })
        if let end = eog.first(where: { texts[$0] == "<|end|>" }),
           (eogText.contains("<|return|>") && eogText.contains("<|call|>")) || (eogText.contains("<|calls|>") && eogText.contains("<|flush|>")) {
            eog.remove(end)
            vocabulary.attributes[end] = .userDefined
        }
        if let s = eog.first(where: { texts[$0] == "</s>" }), eogText.contains("<|tool_response>") || eogText.contains("<|plamo:eos|>") {
            eog.remove(s)
            vocabulary.attributes[s] = .normal
        }
        endOfGeneration = eog

        if model == .ugm || sentencePieceNormalization {
            for (i, text) in texts.enumerated() where vocabulary.attributes[i].contains(.userDefined) {
                let bytes = Array(text.utf8)
                longestUserDefined = max(longestUserDefined, bytes.count)
                for k in 1...max(1, bytes.count) where k <= bytes.count { userDefinedPrefixes.insert(Array(bytes[..<k])) }
            }
        }
        let specials = texts.indices.filter { !vocabulary.attributes[$0].intersection([.control, .userDefined, .unknown]).isEmpty }
        // llama.cpp sorts by length only; equal lengths keep id order here.
        specialTokensByLength = specials.sorted { (texts[$0].utf8.count, $1) > (texts[$1].utf8.count, $0) }.map { Int32($0) }

        let lowerName = (name ?? "").lowercased()
        if lowerName.contains("phi-3") || lowerName.contains("phi3") {
            for id in specialTokensByLength { vocabulary.attributes[Int(id)].insert(.rstrip) }
            if let id = vocabulary.id("</s>") { vocabulary.attributes[Int(id)].insert(.rstrip) }
            for t in ["<unk>", "<s>", "<|endoftext|>"] {
                if let id = vocabulary.id(t) { vocabulary.attributes[Int(id)].remove(.rstrip) }
            }
        }
        let arch = architecture ?? ""
        let jina = ["jina-v2-de", "jina-v2-es", "jina-v2-code"].contains { (preName ?? "").contains($0) }
        if jina || arch.contains("nomic-bert-moe") || arch.contains("jina-bert-v3"), let id = vocabulary.id("<mask>") {
            vocabulary.attributes[Int(id)].insert(.lstrip)
        }
    }
}
