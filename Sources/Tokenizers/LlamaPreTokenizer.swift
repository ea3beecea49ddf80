/// The pre-tokenizers llama.cpp names in `tokenizer.ggml.pre`: for each name, the regexes it
/// splits with (in order, each within the pieces of the previous) and the switches it sets,
/// transcribed from llama.cpp's llama-vocab.cpp (`llm_tokenizer_bpe` and `llama_vocab::impl::load`).
struct LlamaPreTokenizer: Sendable {
    enum Step: Sendable {
        case fast(FastSplitter)
        case regex(SplitPattern)
    }

    let name: String
    let steps: [Step]
    /// GPT-2's byte-to-unicode mapping of every piece before BPE (false for SPM-style BPE).
    let byteEncode: Bool
    /// A piece that is a whole vocabulary token is taken as it is, without merges.
    let ignoreMerges: Bool
    /// Spaces become U+2581 before BPE (Gemma 4).
    let escapeWhitespace: Bool
    /// The default of add_bos for this pre-tokenizer (the file's key overrides it).
    let addsBOS: Bool

    static let gpt2 = FastSplitter.gpt2Pattern
    static let llama3 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
    static let qwen2 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

    /// Regexes, and switches, by llama.cpp's pre-tokenizer type.
    private static func definition(_ name: String) -> (regexes: [String], ignoreMerges: Bool, addsBOS: Bool, byteEncode: Bool, escape: Bool)? {
        switch name {
        case "default":
            return (["[\\p{P}\\$\\+<=>\\^~\\|]+", gpt2, "\\p{N}+", "[0-9][0-9][0-9]"], false, false, true, false)
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
            return ([llama3], true, true, true, false)
        case "dbrx", "smaug-bpe", "chatglm-bpe", "glm4", "glm5":
            return ([llama3], name.hasPrefix("glm"), false, true, false)
        case "deepseek-llm":
            return (["[\r\n]",
                     "\\s?[A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{1BA}\u{1BC}-\u{1BF}\u{1C4}-\u{293}\u{295}-\u{2AF}\u{370}-\u{373}\u{376}\u{377}\u{37B}-\u{37D}\u{37F}\u{386}\u{388}-\u{38A}\u{38C}\u{38E}-\u{3A1}\u{3A3}-\u{3F5}\u{3F7}-\u{481}\u{48A}-\u{52F}\u{531}-\u{556}\u{10A0}-\u{10C5}\u{13A0}-\u{13F5}\u{13F8}-\u{13FD}\u{1C90}-\u{1CBA}\u{1CBD}-\u{1CBF}\u{1D00}-\u{1D2B}\u{1D6B}-\u{1D77}\u{1D79}-\u{1D9A}\u{1E00}-\u{1F15}\u{1F18}-\u{1F1D}\u{1F20}-\u{1F45}\u{1F48}-\u{1F4D}\u{1F50}-\u{1F57}\u{1F59}\u{1F5B}\u{1F5D}\u{1F5F}-\u{1F7D}\u{1F80}-\u{1FB4}\u{1FB6}-\u{1FBC}\u{1FBE}\u{1FC2}-\u{1FC4}\u{1FC6}-\u{1FCC}\u{1FD0}-\u{1FD3}\u{1FD6}-\u{1FDB}\u{1FE0}-\u{1FEC}\u{1FF2}-\u{1FF4}\u{1FF6}-\u{1FFC}\u{2102}\u{2107}\u{210A}-\u{2113}\u{2115}\u{2119}-\u{211D}\u{2124}\u{2126}\u{2128}\u{212A}-\u{212D}\u{212F}-\u{2134}\u{2139}\u{213C}-\u{213F}\u{2145}-\u{2149}\u{214E}\u{2183}\u{2184}\u{2C00}-\u{2C7B}\u{2C7E}-\u{2CE4}\u{2CEB}-\u{2CEE}\u{2CF2}\u{2CF3}\u{A640}-\u{A66D}\u{A680}-\u{A69B}\u{A722}-\u{A76F}\u{A771}-\u{A787}\u{A78B}-\u{A78E}\u{AB70}-\u{ABBF}\u{FB00}-\u{FB06}\u{FB13}-\u{FB17}\u{FF21}-\u{FF3A}\u{FF41}-\u{FF5A}\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}]+",
                     "\\s?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+",
                     "\\s+$",
                     "[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+",
                     "\\p{N}+"], false, false, true, false)
        case "deepseek-coder":
            return (["[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+", "\\p{N}"], false, false, true, false)
        case "deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4":
            return (["\\p{N}{1,3}", "[\u{4E00}-\u{9FA5}\u{3040}-\u{309F}\u{30A0}-\u{30FF}]+",
                     "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"],
                    false, false, true, false)
        case "falcon":
            return (["[\\p{P}\\$\\+<=>\\^~\\|`]+", gpt2, "[0-9][0-9][0-9]"], false, false, true, false)
        case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2":
            return (["\\p{N}", gpt2], false, false, true, false)
        case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert",
             "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4", "jina-v1-en", "jina-v2-code", "roberta-bpe":
            return ([gpt2], false, false, true, false)
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2", "hunyuan", "solar-open", "megrez", "grok-2":
            return ([qwen2], false, false, true, false)
        case "qwen35":
            return (["(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"],
                    false, false, true, false)
        case "poro-chat", "bloom", "gpt3-finnish":
            return ([" ?[^(\\s|.,!?\u{2026}\u{3002}\u{FF0C}\u{3001}\u{964}\u{6D4}\u{60C})]+"], false, false, true, false)
        case "viking":
            return ([" ?[^(\\s|.,!?\u{2026}\u{3002}\u{FF0C}\u{3001}\u{964}\u{6D4}\u{60C})]+", "\\p{N}"], false, false, true, false)
        case "ufakzeka":
            return (["[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"], false, false, true, false)
        case "seed-coder":
            return (["(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"],
                    false, false, true, false)
        case "bailingmoe", "bailingmoe2", "llada-moe":
            return (["'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"],
                    false, false, true, false)
        case "gemma4", "granite-embed-multi-311m":
            return (["[^\\n]+|[\\n]+"], false, true, false, true)
        default:
            return nil
        }
    }

    /// The pre-tokenizer llama.cpp uses for `name`, or nil when llama.cpp does not name it or
    /// its regex needs constructs this reader does not match exactly.
    init?(name: String) throws {
        guard let d = Self.definition(name) else { return nil }
        self.name = name
        steps = try d.regexes.map { pattern in
            if let fast = FastSplitter.forPattern(pattern) { return .fast(fast) }
            return .regex(try SplitPattern(pattern, flavor: Self.flavor(of: pattern)))
        }
        byteEncode = d.byteEncode
        ignoreMerges = d.ignoreMerges
        escapeWhitespace = d.escape
        addsBOS = d.addsBOS
    }

    /// llama.cpp matches a regex on the collapsed text when it names a Unicode category, else
    /// with std::wregex on code points.
    static func flavor(of pattern: String) -> SplitPattern.Flavor {
        let categories = ["\\p{N}", "\\p{L}", "\\p{P}", "\\p{M}", "\\p{S}", "\\p{Lu}", "\\p{Ll}", "\\p{Lt}", "\\p{Lm}", "\\p{Lo}"]
        return categories.contains { pattern.contains($0) } ? .llamaCollapsed : .llamaWide
    }

    /// The pieces of `text`, as code-point ranges.
    func split(_ text: [UInt32]) throws -> [Range<Int>] {
        var segments: [Range<Int>] = text.isEmpty ? [] : [0..<text.count]
        for step in steps {
            var next: [Range<Int>] = []
            next.reserveCapacity(segments.count * 2)
            for segment in segments {
                switch step {
                case .fast(let splitter):
                    splitter.split(text, segment, into: &next)
                case .regex(let pattern):
                    var start = segment.lowerBound
                    for match in try pattern.matches(in: text, range: segment) {
                        if match.lowerBound > start { next.append(start..<match.lowerBound) }
                        next.append(match)
                        start = match.upperBound
                    }
                    if start < segment.upperBound { next.append(start..<segment.upperBound) }
                }
            }
            segments = next
        }
        return segments
    }
}
