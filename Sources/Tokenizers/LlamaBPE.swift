extension LlamaVocabulary {
    /// llama.cpp's `llm_tokenizer_bpe_session::tokenize` for one text fragment.
    func tokenizeBPE(_ bytes: [UInt8], into output: inout [Int32]) throws {
        guard let preTokenizer, let merges else { return }
        let codepoints = UTF8Bytes.codepoints(bytes)
        let pieces = try preTokenizer.split(codepoints)
        var word: [UInt8] = []
        var ids: [Int32] = []
        var spans: [Range<Int>] = []
        // Words repeat: a text's merges are worked out once per distinct word.
        var cache: [[UInt8]: [Int32]] = [:]
        for piece in pieces {
            word.removeAll(keepingCapacity: true)
            for i in piece { UTF8Bytes.append(codepoints[i], to: &word) }
            if let known = cache[word] {
                output.append(contentsOf: known)
                continue
            }
            let start = output.count
            defer {
                if word.count <= 64, cache.count < 1 << 16 { cache[word] = Array(output[start...]) }
            }
            ids.removeAll(keepingCapacity: true)
            spans.removeAll(keepingCapacity: true)
            if preTokenizer.byteEncode {
                if preTokenizer.ignoreMerges, let id = vocabulary.id(ByteLevel.encode(word)) {
                    output.append(id)
                    continue
                }
                for (i, b) in word.enumerated() {
                    ids.append(byteTokenIDs[Int(b)])
                    spans.append(i..<(i + 1))
                }
            } else {
                let allNewlines = !word.contains { $0 != 0x0A }
                if preTokenizer.ignoreMerges || (preTokenizer.name.hasPrefix("gemma4") && allNewlines),
                   let id = vocabulary.id(bytes: word) {
                    output.append(id)
                    continue
                }
                var i = 0
                while i < word.count {
                    let n = min(UTF8Bytes.sequenceLength(word[i]), word.count - i)
                    ids.append(vocabulary.id(bytes: word[i..<(i + n)]) ?? -1)
                    spans.append(i..<(i + n))
                    i += n
                }
            }
            merges.apply(&ids, &spans)
            for (id, span) in zip(ids, spans) {
                if id >= 0 {
                    output.append(id)
                    continue
                }
                // A symbol outside the vocabulary falls back to its bytes' tokens.
                for b in word[span] {
                    if preTokenizer.byteEncode {
                        var encoded: [UInt8] = []
                        UTF8Bytes.append(ByteLevel.codepointOfByte[Int(b)], to: &encoded)
                        for e in encoded where e < 0x80 {
                            if let t = vocabulary.id(bytes: [e]) { output.append(t) }
                        }
                    } else if let t = vocabulary.byteTokenID(b) {
                        output.append(t)
                    }
                }
            }
        }
    }
}
