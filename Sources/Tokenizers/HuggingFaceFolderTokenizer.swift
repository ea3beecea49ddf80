import Formats

/// A Hugging Face folder's tokenizer: tokenizer.json, else tokenizer.model (sentencepiece), else
/// vocab.txt (BERT WordPiece), with tokenizer_config.json's special tokens and chat template.
enum HuggingFaceFolderTokenizer {
    static func load(folder: String) throws -> Tokenizer {
        let config = folder + "/tokenizer_config.json"
        let configPath: String? = FileKind.exists(config) ? config : nil
        for (name, loader) in [("tokenizer.json", load(tokenizerJSON:config:)), ("tokenizer.model", load(sentencePiece:config:)),
                               ("vocab.txt", load(vocabText:config:))] {
            let path = folder + "/" + name
            if FileKind.exists(path) { return try loader(path, configPath) }
        }
        throw FormatError(path: folder, "has no tokenizer.json, tokenizer.model or vocab.txt")
    }

    /// tokenizer_config.json: special token texts, add_bos_token / add_eos_token, the chat
    /// template, BERT's do_lower_case.
    struct Config {
        var tokens: [String: String] = [:]
        var addBOS: Bool?
        var addEOS: Bool?
        var chatTemplate: String?
        var lowercase: Bool?
        var stripAccents: Bool?
        var chineseCharacters: Bool?

        init() {}

        static let keys: Set<String> = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
                                        "add_bos_token", "add_eos_token", "do_lower_case", "strip_accents", "tokenize_chinese_chars",
                                        "chat_template"]

        init(path: String) throws {
            let file = try MappedFile(mapping: path)
            // Pulled key by key: transformers writes model_max_length as int(1e30), which
            // JSONParser's tree refuses as an integer, and no key here needs it.
            var reader = JSONReader(try file.bytes(in: 0..<file.size))
            var members: [(String, JSONValue)] = []
            do {
                try reader.beginObject()
                while let key = try reader.nextKey() {
                    if Self.keys.contains(key) { members.append((key, try reader.value())) } else { try reader.skipValue() }
                }
                try reader.end()
            } catch let f as JSONParser.Failure {
                throw FormatError(path: path, location: .offset(f.offset), f.message)
            }
            for (key, value) in members {
                switch key {
                case "bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token":
                    if let s = value.stringValue ?? value["content"]?.stringValue { tokens[key] = s }
                case "add_bos_token": if case .bool(let b) = value { addBOS = b }
                case "add_eos_token": if case .bool(let b) = value { addEOS = b }
                case "do_lower_case": if case .bool(let b) = value { lowercase = b }
                case "strip_accents": if case .bool(let b) = value { stripAccents = b }
                case "tokenize_chinese_chars": if case .bool(let b) = value { chineseCharacters = b }
                case "chat_template":
                    if let s = value.stringValue {
                        chatTemplate = s
                    } else if let list = value.arrayValue {
                        // A list of named templates: the one named "default".
                        chatTemplate = list.first { $0["name"]?.stringValue == "default" }?["template"]?.stringValue
                    } else if value != .null {
                        throw FormatError(path: path, location: .field("chat_template"), "must be a string or a list of named templates")
                    }
                default: break
                }
            }
            // transformers 5 writes the template to a file of its own beside the config.
            let jinja = (path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")) + "/chat_template.jinja"
            if chatTemplate == nil, FileKind.exists(jinja) {
                let bytes = try FileKind.bytes(jinja)
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    throw FormatError(path: jinja, location: .offset(TokenizerText.firstInvalidUTF8(bytes)), "is not valid UTF-8")
                }
                chatTemplate = text
            }
        }
    }

    static func load(tokenizerJSON path: String, config configPath: String?) throws -> Tokenizer {
        let file = try MappedFile(mapping: path)
        var h = try HuggingFaceJSONReader.read(path: path, bytes: try file.bytes(in: 0..<file.size))
        let config = try configPath.map { try Config(path: $0) } ?? Config()
        func id(_ key: String) -> Int? { config.tokens[key].flatMap { h.vocabulary.id($0) }.map(Int.init) }
        h.special.bos = id("bos_token")
        h.special.eos = id("eos_token")
        h.special.unk = id("unk_token")
        h.special.sep = id("sep_token")
        h.special.pad = id("pad_token")
        h.special.cls = id("cls_token")
        h.special.mask = id("mask_token")
        h.chatTemplate = config.chatTemplate
        h.endOfGeneration = endOfGeneration(h.vocabulary, h.special)
        return Tokenizer(engine: .huggingFace(h), path: path)
    }

    static func endOfGeneration(_ vocabulary: Vocabulary, _ special: SpecialTokens) -> Set<Int> {
        var eog = Set([special.eos].compactMap { $0 })
        for text in ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<|end_of_text|>", "<eos>"] {
            if let id = vocabulary.id(text), !vocabulary.attributes[Int(id)].intersection([.control, .userDefined]).isEmpty {
                eog.insert(Int(id))
            }
        }
        return eog
    }

    static func load(sentencePiece path: String, config configPath: String?) throws -> Tokenizer {
        var v = try SentencePieceModelReader.read(path: path)
        if let configPath {
            let config = try Config(path: configPath)
            if let b = config.addBOS { v.addBOS = b && v.special.bos != nil }
            if let b = config.addEOS { v.addEOS = b && v.special.eos != nil }
            v.chatTemplate = config.chatTemplate
        }
        return Tokenizer(engine: .llama(v), path: path)
    }

    /// BERT's vocab.txt, one token per line, tokenized as transformers' BertTokenizerFast.
    static func load(vocabText path: String, config configPath: String?) throws -> Tokenizer {
        let bytes = try FileKind.bytes(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FormatError(path: path, location: .offset(TokenizerText.firstInvalidUTF8(bytes)), "is not valid UTF-8")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
        if lines.last == "" { lines.removeLast() }
        var ids: [[UInt8]: Int32] = [:]
        for (i, line) in lines.enumerated() where ids[Array(line.utf8)] == nil { ids[Array(line.utf8)] = Int32(i) }
        guard !lines.isEmpty else { throw FormatError(path: path, "has no tokens") }
        let config = try configPath.map { try Config(path: $0) } ?? Config()
        let tokens = ["unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"]
            .merging(config.tokens) { $1 }
        var attributes = [TokenAttributes](repeating: .normal, count: lines.count)
        for t in tokens.values { if let id = ids[Array(t.utf8)] { attributes[Int(id)] = .control } }
        let vocabulary = Vocabulary(texts: lines, scores: .init(repeating: 0, count: lines.count), attributes: attributes, ids: ids)
        func id(_ key: String) -> Int32? { tokens[key].flatMap { ids[Array($0.utf8)] } }
        let lower = config.lowercase ?? true
        var h = HuggingFaceTokenizer(vocabulary: vocabulary,
                                     model: .wordPiece(.init(unknown: id("unk_token"), prefix: "##", maximumCharacters: 100)))
        h.normalizer = .bert(cleanText: true, chineseCharacters: config.chineseCharacters ?? true,
                             stripAccents: config.stripAccents ?? lower, lowercase: lower)
        h.preTokenizer = .bert
        h.decoder = .wordPiece(prefix: "##", cleanup: true)
        h.addedTokens = tokens.values.compactMap { t in
            ids[Array(t.utf8)].map { .init(id: $0, content: Array(t.utf8), special: true, singleWord: false, lstrip: false, rstrip: false) }
        }
        if let cls = id("cls_token"), let sep = id("sep_token") {
            h.prefix = [Int(cls)]
            h.suffix = [Int(sep)]
        }
        h.special.unk = id("unk_token").map(Int.init)
        h.special.sep = id("sep_token").map(Int.init)
        h.special.cls = id("cls_token").map(Int.init)
        h.special.pad = id("pad_token").map(Int.init)
        h.special.mask = id("mask_token").map(Int.init)
        h.chatTemplate = config.chatTemplate
        return Tokenizer(engine: .huggingFace(h), path: path)
    }
}

enum TokenizerText {
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int {
        var offset = 0
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .error, .emptyInput: return offset
            }
        }
    }
}
