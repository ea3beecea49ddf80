extension LlamaVocabulary {
    /// llama.cpp's `llm_tokenizer_ugm_session`: sentencepiece's normalization (precompiled map,
    /// space handling), then the Viterbi best segmentation by token scores, runs of unknown
    /// characters joined into one unknown token.
    func tokenizeUGM(_ text: [UInt8], into output: inout [Int32]) {
        let normalized = normalizeUGM(text)
        let n = normalized.count
        guard n > 0 else { return }
        let unk = Int32(special.unk ?? 0)
        var bestID = [Int32](repeating: unk, count: n + 1)
        var bestFrom = [Int](repeating: 0, count: n + 1)
        var bestScore = [Double](repeating: -Double.greatestFiniteMagnitude, count: n + 1)
        bestScore[0] = 0
        var offset = 0
        while offset < n {
            let charLength = min(UTF8Bytes.sequenceLength(normalized[offset]), n - offset)
            var singleFound = false
            let current = bestScore[offset]
            var end = offset + 1
            while end <= min(n, offset + maximumTokenBytes) {
                if let id = vocabulary.id(bytes: normalized[offset..<end]),
                   !vocabulary.attributes[Int(id)].intersection([.normal, .userDefined, .unused]).isEmpty {
                    if end - offset == charLength { singleFound = true }
                    let score = vocabulary.attributes[Int(id)].contains(.userDefined) ? 0 : Double(vocabulary.scores[Int(id)])
                    if current + score > bestScore[end] {
                        bestScore[end] = current + score
                        bestID[end] = id
                        bestFrom[end] = offset
                    }
                }
                end += 1
            }
            if !singleFound {
                let target = offset + charLength
                if current + unknownScore > bestScore[target] {
                    bestScore[target] = current + unknownScore
                    bestID[target] = unk
                    bestFrom[target] = offset
                }
            }
            offset += charLength
        }
        var reversed: [Int32] = []
        var position = n
        var previousUnknown = false
        while true {
            let id = bestID[position]
            let isUnknown = id == unk
            if !(previousUnknown && isUnknown) { reversed.append(id) }
            if bestFrom[position] == 0 { break }
            previousUnknown = isUnknown
            position = bestFrom[position]
        }
        output.append(contentsOf: reversed.reversed())
    }

    /// llama.cpp's UGM `normalize`.
    func normalizeUGM(_ input: [UInt8]) -> [UInt8] {
        let space: [UInt8] = escapeWhitespaces ? [0xE2, 0x96, 0x81] : [0x20]
        let prepend = !treatWhitespaceAsSuffix && addSpacePrefix
        let append = treatWhitespaceAsSuffix && addSpacePrefix
        let merge = removeExtraWhitespaces
        var out: [UInt8] = []
        out.reserveCapacity(input.count * 3)
        var spacePrepended = false
        var inWord = false
        var offset = 0
        while offset < input.count {
            let (piece, consumed) = normalizedPrefix(input, offset)
            for c in piece {
                if c != 0x20 {
                    if !inWord {
                        inWord = true
                        if (prepend && !spacePrepended) || merge {
                            out.append(contentsOf: space)
                            spacePrepended = true
                        }
                    }
                    out.append(c)
                } else {
                    inWord = false
                    if !merge { out.append(contentsOf: space) }
                }
            }
            offset += consumed
        }
        if append { out.append(contentsOf: space) }
        return out
    }

    private func normalizedPrefix(_ input: [UInt8], _ offset: Int) -> ([UInt8], Int) {
        // Input that follows the user-defined tokens' trie is kept as it is (llama.cpp's
        // get_longest_prefix: the walk's depth, whether or not it ends on a whole token).
        if sentencePieceNormalization {
            // sentencepiece's own prefix matcher takes whole user-defined pieces only.
            var longest = 0
            var end = offset + 1
            while end <= min(input.count, offset + longestUserDefined) {
                if let id = vocabulary.id(bytes: input[offset..<end]), vocabulary.attributes[Int(id)].contains(.userDefined) {
                    longest = end - offset
                }
                end += 1
            }
            if longest > 0 { return (Array(input[offset..<(offset + longest)]), longest) }
        } else {
            var walked = 0
            while walked < longestUserDefined, offset + walked < input.count,
              userDefinedPrefixes.contains(Array(input[offset..<(offset + walked + 1)])) {
                walked += 1
            }
            if walked > 0 { return (Array(input[offset..<(offset + walked)]), walked) }
        }
        if let charsmap, let (replacement, consumed) = charsmap.match(input, at: offset) {
            return (replacement, consumed)
        }
        let n = UTF8Bytes.sequenceLength(input[offset])
        guard offset + n <= input.count, n == 1 || (input[offset] & 0xC0) == 0xC0,
              input[(offset + 1)..<(offset + n)].allSatisfy({ $0 & 0xC0 == 0x80 }) else {
            return ([0xEF, 0xBF, 0xBD], 1)
        }
        return (Array(input[offset..<(offset + n)]), n)
    }
}
