import Graph
/// Shell-style name patterns for `--keep`: `*` matches any run of characters (dots and
/// slashes included, as tensor names are not paths), `?` one character, `[abc]` a set.
public struct Glob: Sendable, Hashable, CustomStringConvertible {
    public let pattern: String
    private let characters: [Character]

    public init(_ pattern: String) {
        self.pattern = pattern
        characters = Array(pattern)
    }

    public var description: String { pattern }

    public func matches(_ name: String) -> Bool {
        let text = Array(name)
        // Iterative matcher with one backtrack point for the last star: linear in practice,
        // never exponential on adversarial patterns.
        var p = 0, t = 0
        var starP = -1, starT = 0
        while t < text.count {
            if p < characters.count, characters[p] == "*" {
                starP = p
                starT = t
                p += 1
            } else if p < characters.count, let width = matchOne(at: p, text[t]) {
                p += width
                t += 1
            } else if starP >= 0 {
                p = starP + 1
                starT += 1
                t = starT
            } else {
                return false
            }
        }
        while p < characters.count, characters[p] == "*" { p += 1 }
        return p == characters.count
    }

    /// Pattern width consumed if the element at `p` matches `c`, else nil.
    private func matchOne(at p: Int, _ c: Character) -> Int? {
        switch characters[p] {
        case "?": return 1
        case "[":
            guard let close = characters[(p + 1)...].firstIndex(of: "]"), close > p + 1 else {
                return c == "[" ? 1 : nil
            }
            var set = characters[(p + 1)..<close]
            let negate = set.first == "!" || set.first == "^"
            if negate { set = set.dropFirst() }
            var found = false
            var i = set.startIndex
            while i < set.endIndex {
                if i + 2 < set.endIndex, set[i + 1] == "-" {
                    if set[i] <= c && c <= set[i + 2] { found = true }
                    i += 3
                } else {
                    if set[i] == c { found = true }
                    i += 1
                }
            }
            return found != negate ? close - p + 1 : nil
        default:
            return characters[p] == c ? 1 : nil
        }
    }
}
