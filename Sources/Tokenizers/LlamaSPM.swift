extension LlamaVocabulary {
    /// llama.cpp's `llm_tokenizer_spm_session`: sentencepiece BPE, joining the adjacent pair whose
    /// joined text is the highest-scoring token, with `<0xXX>` byte fallback.
    func tokenizeSPM(_ text: [UInt8], into output: inout [Int32]) {
        struct Symbol {
            var start: Int
            var length: Int
            var previous: Int
            var next: Int
        }
        struct Bigram: MergeCandidate {
            var left: Int
            var right: Int
            var score: Float
            var size: Int
            func before(_ o: Bigram) -> Bool { score > o.score || (score == o.score && left < o.left) }
        }
        var symbols: [Symbol] = []
        var offset = 0
        while offset < text.count {
            let n = min(UTF8Bytes.sequenceLength(text[offset]), text.count - offset)
            let index = symbols.count
            symbols.append(Symbol(start: offset, length: n, previous: index - 1, next: offset + n == text.count ? -1 : index + 1))
            offset += n
        }
        guard !symbols.isEmpty else { return }
        var heap = MergeQueue<Bigram>()
        func tryAdd(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let start = symbols[left].start
            let end = start + symbols[left].length + symbols[right].length
            guard let id = vocabulary.id(bytes: text[start..<end]) else { return }
            heap.push(Bigram(left: left, right: right, score: vocabulary.scores[Int(id)], size: end - start))
        }
        for i in 1..<symbols.count { tryAdd(i - 1, i) }
        while !heap.isEmpty {
            let b = heap.pop()
            guard symbols[b.left].length > 0, symbols[b.right].length > 0,
                  symbols[b.left].length + symbols[b.right].length == b.size else { continue }
            symbols[b.left].length += symbols[b.right].length
            symbols[b.right].length = 0
            symbols[b.left].next = symbols[b.right].next
            if symbols[b.right].next >= 0 { symbols[symbols[b.right].next].previous = b.left }
            tryAdd(symbols[b.left].previous, b.left)
            tryAdd(b.left, symbols[b.left].next)
        }
        // Every joined symbol is a token (only token texts are ever joined), so llama.cpp's
        // reverse-merge lookup can only meet single characters, which are never in it: a symbol is
        // either a token or one character written as byte tokens.
        func resegment(_ index: Int) {
            let s = symbols[index]
            let piece = text[s.start..<(s.start + s.length)]
            if let id = vocabulary.id(bytes: piece) {
                output.append(id)
                return
            }
            for b in piece {
                if let id = vocabulary.byteTokenID(b) ?? (b < 0x80 ? vocabulary.id(bytes: [b]) : nil) {
                    output.append(id)
                } else if let unk = special.unk {
                    output.append(Int32(unk))
                }
            }
        }
        var i = 0
        while i != -1 {
            resegment(i)
            i = symbols[i].next
        }
    }
}
