/// A pre-tokenizer regular expression, matched over code points.
///
/// Supports the subset real tokenizer patterns use: alternation, non-capturing, case-insensitive
/// `(?i:)` and optional groups, look-ahead, classes with ranges and `\s \d \w \p{..}`, and
/// greedy quantifiers on single characters or classes. Anything else (back-references, lazy or
/// possessive quantifiers, repeated groups, scripts like `\p{Han}`) is refused when the pattern is
/// read, never matched approximately. Quantifiers never repeat a group, so the match recursion is
/// as deep as the pattern, not the text; a step budget proportional to the text turns
/// catastrophic backtracking into an error instead of a hang.
struct SplitPattern: Sendable {
    /// Whose regex semantics the pattern has.
    enum Flavor: Sendable {
        /// llama.cpp's std::regex over the "collapsed" text: each non-ASCII code point stands for
        /// its category (or for `\v` when it is whitespace), so `\p{..}` classes see categories and
        /// `\s` sees ASCII whitespace plus that stand-in.
        case llamaCollapsed
        /// llama.cpp's std::wregex over code points, non-ASCII whitespace replaced by `\v`.
        case llamaWide
        /// Oniguruma as Hugging Face tokenizers uses it: Unicode `\s`, `\d`, `\w` and categories.
        case unicode
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    enum Test: Sendable {
        case range(UInt32, UInt32)
        case space
        case digit
        case word
        case category(CodepointFlags)
        case generalCategories([Unicode.GeneralCategory])
        case dot
        indirect case not(Test)
    }

    struct CharacterClass: Sendable {
        var tests: [Test]
        var negated: Bool
    }

    indirect enum Node: Sendable {
        case unit(CharacterClass, min: Int, max: Int)
        case group([[Node]], optional: Bool)
        case lookahead([[Node]], negative: Bool)
        case start
        case end
    }

    let source: String
    let flavor: Flavor
    let alternatives: [[Node]]

    init(_ pattern: String, flavor: Flavor) throws {
        source = pattern
        self.flavor = flavor
        var parser = Parser(units: Array(pattern.unicodeScalars.map(\.value)), flavor: flavor)
        alternatives = try parser.parseAlternatives(caseInsensitive: false)
        guard parser.position == parser.units.count else {
            throw Failure(description: "unbalanced ')' at character \(parser.position) of regex \(pattern)")
        }
    }

    // MARK: Matching

    /// The non-overlapping leftmost-first matches in `range` of `text`, as regex iterators find
    /// them. Empty matches are skipped.
    func matches(in text: [UInt32], range: Range<Int>) throws -> [Range<Int>] {
        var matcher = Matcher(text: text, lower: range.lowerBound, upper: range.upperBound, flavor: flavor,
                              budget: 10_000 + 2_000 * range.count)
        var result: [Range<Int>] = []
        // One class, repeated or not (`\p{N}`, `[\r\n]`, `\p{N}+`): a plain scan.
        if alternatives.count == 1, alternatives[0].count == 1, case .unit(let cls, let minimum, let maximum) = alternatives[0][0], minimum >= 1 {
            var start = range.lowerBound
            while start < range.upperBound {
                guard matcher.test(cls, text[start]) else {
                    start += 1
                    continue
                }
                var end = start + 1
                while end < range.upperBound, end - start < maximum, matcher.test(cls, text[end]) { end += 1 }
                if end - start >= minimum {
                    result.append(start..<end)
                    start = end
                } else {
                    start += 1
                }
            }
            return result
        }
        var start = range.lowerBound
        while start < range.upperBound {
            if let end = matcher.matchAlternatives(alternatives, at: start, then: nil), end > start {
                result.append(start..<end)
                start = end
            } else {
                start += 1
            }
            if matcher.budget < 0 {
                throw Failure(description: "regex \(source) backtracks too much on this text (over \(2_000) steps per character)")
            }
        }
        return result
    }

    final class Continuation {
        let sequence: [Node]
        let index: Int
        let next: Continuation?
        init(_ sequence: [Node], _ index: Int, _ next: Continuation?) {
            self.sequence = sequence
            self.index = index
            self.next = next
        }
    }

    struct Matcher {
        let text: [UInt32]
        let lower: Int
        let upper: Int
        let flavor: Flavor
        var budget: Int

        mutating func matchAlternatives(_ alternatives: [[Node]], at position: Int, then next: Continuation?) -> Int? {
            for sequence in alternatives {
                if let end = match(sequence, 0, position, next) { return end }
                if budget < 0 { return nil }
            }
            return nil
        }

        mutating func match(_ sequence: [Node], _ index: Int, _ position: Int, _ next: Continuation?) -> Int? {
            budget -= 1
            if budget < 0 { return nil }
            if index == sequence.count {
                guard let next else { return position }
                return match(next.sequence, next.index, position, next.next)
            }
            switch sequence[index] {
            case .unit(let cls, let minimum, let maximum):
                var count = 0
                while count < maximum, position + count < upper, test(cls, text[position + count]) { count += 1 }
                budget -= count
                guard count >= minimum else { return nil }
                var k = count
                while k >= minimum {
                    if let end = match(sequence, index + 1, position + k, next) { return end }
                    if budget < 0 { return nil }
                    k -= 1
                }
                return nil
            case .group(let alternatives, let optional):
                let after = Continuation(sequence, index + 1, next)
                if let end = matchAlternatives(alternatives, at: position, then: after) { return end }
                return optional ? match(sequence, index + 1, position, next) : nil
            case .lookahead(let alternatives, let negative):
                let found = matchAlternatives(alternatives, at: position, then: nil) != nil
                guard found != negative else { return nil }
                return match(sequence, index + 1, position, next)
            case .start:
                return position == lower ? match(sequence, index + 1, position, next) : nil
            case .end:
                let atEnd = position == upper || (flavor == .unicode && text[position] == 0x0A)
                return atEnd ? match(sequence, index + 1, position, next) : nil
            }
        }

        func test(_ cls: CharacterClass, _ c: UInt32) -> Bool {
            var hit = false
            for t in cls.tests where evaluate(t, c) {
                hit = true
                break
            }
            return hit != cls.negated
        }

        func evaluate(_ t: Test, _ c: UInt32) -> Bool {
            switch t {
            case .range(let a, let b):
                let u = (flavor == .llamaWide && c > 0x7F && CodepointFlags.of(c).isWhitespace) ? 0x0B : c
                return a <= u && u <= b
            case .space:
                if flavor == .unicode { return CodepointFlags.of(c).isWhitespace }
                return c < 0x80 ? (c == 0x20 || (0x09...0x0D).contains(c)) : CodepointFlags.of(c).isWhitespace
            case .digit:
                if flavor == .unicode, c >= 0x80 { return Unicode.Scalar(c)?.properties.generalCategory == .decimalNumber }
                return (0x30...0x39).contains(c)
            case .word:
                if c < 0x80 { return c == 0x5F || (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) }
                guard flavor == .unicode else { return false }
                let flags = CodepointFlags.of(c)
                return !flags.intersection([.letter, .number, .mark]).isEmpty
                    || Unicode.Scalar(c)?.properties.generalCategory == .connectorPunctuation
            case .category(let mask):
                let flags = CodepointFlags.of(c)
                if flavor == .llamaCollapsed, c >= 0x80, flags.isWhitespace { return false }
                return !flags.intersection(mask).isEmpty
            case .generalCategories(let categories):
                guard let scalar = Unicode.Scalar(c) else { return false }
                return categories.contains(scalar.properties.generalCategory)
            case .dot:
                return c != 0x0A && (flavor == .unicode || (c != 0x0D && c != 0x2028 && c != 0x2029))
            case .not(let inner):
                return !evaluate(inner, c)
            }
        }
    }

    // MARK: Parsing

    struct Parser {
        let units: [UInt32]
        let flavor: Flavor
        var position = 0
        /// Open groups: the parser recurses once per level.
        var depth = 0

        func failure(_ message: String) -> Failure {
            Failure(description: "\(message) at character \(position) of regex \(UTF8Bytes.string(units))")
        }

        var peek: UInt32? { position < units.count ? units[position] : nil }

        mutating func eat(_ c: Character) -> Bool {
            if peek == c.unicodeScalars.first!.value {
                position += 1
                return true
            }
            return false
        }

        mutating func parseAlternatives(caseInsensitive: Bool) throws -> [[Node]] {
            var alternatives: [[Node]] = [try parseSequence(caseInsensitive: caseInsensitive)]
            while eat("|") { alternatives.append(try parseSequence(caseInsensitive: caseInsensitive)) }
            return alternatives
        }

        mutating func parseSequence(caseInsensitive: Bool) throws -> [Node] {
            var nodes: [Node] = []
            while let c = peek, c != 0x7C /* | */, c != 0x29 /* ) */ {
                guard nodes.count < 1000 else { throw failure("pattern too long") }
                let atom = try parseAtom(caseInsensitive: caseInsensitive)
                nodes.append(try parseQuantifier(atom))
            }
            return nodes
        }

        mutating func parseAtom(caseInsensitive: Bool) throws -> Node {
            let c = units[position]
            position += 1
            switch c {
            case 0x28:  // (
                var insensitive = caseInsensitive
                var look: Bool? = nil
                if eat("?") {
                    if eat(":") {
                    } else if eat("i") {
                        guard eat(":") else { throw failure("only the (?i:...) inline flag is supported") }
                        insensitive = true
                    } else if eat("=") {
                        look = false
                    } else if eat("!") {
                        look = true
                    } else {
                        throw failure("unsupported group kind")
                    }
                }
                guard depth < 32 else { throw failure("groups nested more than 32 deep") }
                depth += 1
                defer { depth -= 1 }
                let alternatives = try parseAlternatives(caseInsensitive: insensitive)
                guard eat(")") else { throw failure("unterminated group") }
                if let negative = look { return .lookahead(alternatives, negative: negative) }
                return .group(alternatives, optional: false)
            case 0x5B:  // [
                return .unit(try parseClass(caseInsensitive: caseInsensitive), min: 1, max: 1)
            case 0x2E:  // .
                return .unit(CharacterClass(tests: [.dot], negated: false), min: 1, max: 1)
            case 0x5E:  // ^
                return .start
            case 0x24:  // $
                return .end
            case 0x5C:  // backslash
                let test = try parseEscape()
                return .unit(CharacterClass(tests: expand(test, caseInsensitive), negated: false), min: 1, max: 1)
            case 0x2A, 0x2B, 0x3F, 0x7B:
                throw failure("nothing to repeat")
            default:
                return .unit(CharacterClass(tests: expand(.range(c, c), caseInsensitive), negated: false), min: 1, max: 1)
            }
        }

        func expand(_ test: Test, _ caseInsensitive: Bool) -> [Test] {
            guard caseInsensitive, case .range(let a, let b) = test, a == b else { return [test] }
            let lower = CodepointFlags.lowercase(a)
            var tests = [test]
            if lower != a { tests.append(.range(lower, lower)) }
            if let scalar = Unicode.Scalar(a) {
                let upper = scalar.properties.uppercaseMapping.unicodeScalars
                if upper.count == 1, let u = upper.first?.value, u != a { tests.append(.range(u, u)) }
            }
            return tests
        }

        mutating func parseQuantifier(_ atom: Node) throws -> Node {
            var minimum = 1, maximum = 1
            guard let c = peek else { return atom }
            switch c {
            case 0x3F: minimum = 0; maximum = 1; position += 1
            case 0x2A: minimum = 0; maximum = Int.max; position += 1
            case 0x2B: minimum = 1; maximum = Int.max; position += 1
            case 0x7B:
                position += 1
                minimum = try parseNumber()
                maximum = minimum
                if eat(",") { maximum = peek == 0x7D ? Int.max : try parseNumber() }
                guard eat("}"), minimum <= maximum else { throw failure("bad {n,m} quantifier") }
            default:
                return atom
            }
            if let next = peek, next == 0x3F || next == 0x2B {
                throw failure("lazy and possessive quantifiers are not supported")
            }
            switch atom {
            case .unit(let cls, 1, 1):
                return .unit(cls, min: minimum, max: maximum)
            case .group(let alternatives, false) where minimum == 0 && maximum == 1:
                return .group(alternatives, optional: true)
            default:
                throw failure("only single characters, classes and optional groups can be repeated")
            }
        }

        mutating func parseNumber() throws -> Int {
            var value = 0
            var digits = 0
            while let c = peek, (0x30...0x39).contains(c), digits < 6 {
                value = value * 10 + Int(c - 0x30)
                digits += 1
                position += 1
            }
            guard digits > 0 else { throw failure("expected a number") }
            return value
        }

        mutating func parseClass(caseInsensitive: Bool) throws -> CharacterClass {
            let negated = eat("^")
            var tests: [Test] = []
            var first = true
            while true {
                guard let c = peek else { throw failure("unterminated character class") }
                if c == 0x5D, !first {  // ]
                    position += 1
                    break
                }
                first = false
                position += 1
                var low: Test
                if c == 0x5C {
                    low = try parseEscape()
                } else if c == 0x5B, peek == 0x3A {  // [:
                    throw failure("POSIX classes are not supported")
                } else {
                    low = .range(c, c)
                }
                if case .range(let a, _) = low, peek == 0x2D /* - */, position + 1 < units.count, units[position + 1] != 0x5D {
                    position += 1
                    let d = units[position]
                    position += 1
                    var high: Test = .range(d, d)
                    if d == 0x5C { high = try parseEscape() }
                    guard case .range(let b, _) = high, a <= b else { throw failure("bad range in character class") }
                    low = .range(a, b)
                    if caseInsensitive {
                        throw failure("ranges inside (?i:...) are not supported")
                    }
                    tests.append(low)
                } else {
                    tests.append(contentsOf: expand(low, caseInsensitive))
                }
            }
            return CharacterClass(tests: tests, negated: negated)
        }

        /// After a backslash.
        mutating func parseEscape() throws -> Test {
            guard let c = peek else { throw failure("trailing backslash") }
            position += 1
            switch c {
            case 0x73: return .space  // s
            case 0x53: return .not(.space)
            case 0x64: return .digit  // d
            case 0x44: return .not(.digit)
            case 0x77: return .word  // w
            case 0x57: return .not(.word)
            case 0x6E: return .range(0x0A, 0x0A)
            case 0x72: return .range(0x0D, 0x0D)
            case 0x74: return .range(0x09, 0x09)
            case 0x66: return .range(0x0C, 0x0C)
            case 0x76: return .range(0x0B, 0x0B)
            case 0x70, 0x50:  // p, P
                let test = try parseProperty()
                return c == 0x50 ? .not(test) : test
            case 0x78:  // x
                let value = try parseHex(braced: eat("{"), digits: 2)
                return .range(value, value)
            case 0x75:  // u
                let value = try parseHex(braced: false, digits: 4)
                return .range(value, value)
            default:
                let isAlphanumeric = (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c)
                guard !isAlphanumeric else { throw failure("unsupported escape \\\(UTF8Bytes.string([c]))") }
                return .range(c, c)
            }
        }

        mutating func parseHex(braced: Bool, digits: Int) throws -> UInt32 {
            var value: UInt32 = 0
            var count = 0
            while let c = peek, let d = hexDigit(c), braced ? count < 6 : count < digits {
                value = value * 16 + d
                count += 1
                position += 1
            }
            if braced { guard eat("}") else { throw failure("bad \\x{...} escape") } }
            guard count > 0, braced || count == digits, value <= 0x10FFFF else { throw failure("bad hex escape") }
            return value
        }

        func hexDigit(_ c: UInt32) -> UInt32? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x46: c - 0x41 + 10
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }

        mutating func parseProperty() throws -> Test {
            var name = ""
            if eat("{") {
                while let c = peek, c != 0x7D, name.count < 32 {
                    name.unicodeScalars.append(Unicode.Scalar(c) ?? "?")
                    position += 1
                }
                guard eat("}") else { throw failure("unterminated \\p{...}") }
            } else if let c = peek {
                name.unicodeScalars.append(Unicode.Scalar(c) ?? "?")
                position += 1
            }
            let groups: [String: CodepointFlags] = [
                "L": .letter, "N": .number, "P": .punctuation, "S": .symbol, "M": .mark, "Z": .separator, "C": .control,
            ]
            if let group = groups[name] {
                if flavor == .llamaCollapsed, ![CodepointFlags.letter, .number, .punctuation, .symbol, .mark].contains(group) {
                    throw failure("llama.cpp does not collapse \\p{\(name)}")
                }
                return .category(group)
            }
            let subcategories: [String: Unicode.GeneralCategory] = [
                "Lu": .uppercaseLetter, "Ll": .lowercaseLetter, "Lt": .titlecaseLetter, "Lm": .modifierLetter, "Lo": .otherLetter,
                "Nd": .decimalNumber, "Nl": .letterNumber, "No": .otherNumber,
                "Mn": .nonspacingMark, "Mc": .spacingMark, "Me": .enclosingMark,
            ]
            if let sub = subcategories[name] {
                // llama.cpp collapses \p{Lu}, \p{Ll}, ... to the whole letter group.
                if flavor != .unicode {
                    guard name.hasPrefix("L") else { throw failure("llama.cpp does not collapse \\p{\(name)}") }
                    return .category(.letter)
                }
                return .generalCategories([sub])
            }
            throw failure("unsupported Unicode property \\p{\(name)}")
        }
    }
}
