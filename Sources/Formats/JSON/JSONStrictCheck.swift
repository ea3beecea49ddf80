/// What json-c lets through even in strict mode, found by one linear scan of the text that
/// json-c has already accepted (so brackets, strings and escapes are well formed):
/// - numbers no 64-bit value holds: integers past the Int64 and UInt64 ranges, which json-c
///   clamps, and numbers whose double overflows (`1e999`), which it makes infinity;
/// - `NaN` and `Infinity`, which are not JSON;
/// - a number ending in a bare `.` (`1.`);
/// - single-quoted strings.
/// serde_json (the safetensors reference) refuses all of these, and a config value must not
/// silently become another.
enum JSONStrictCheck {
    static func firstViolation(_ text: UnsafeRawBufferPointer) -> (offset: Int, message: String)? {
        var i = 0
        let n = text.count
        while i < n {
            let c = text[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                while i < n && text[i] != UInt8(ascii: "\"") { i += text[i] == UInt8(ascii: "\\") ? 2 : 1 }
                i += 1
                continue
            }
            if c == UInt8(ascii: "'") { return (i, "invalid JSON: strings are quoted with \", not '") }
            if c == UInt8(ascii: "N") || c == UInt8(ascii: "I") { return (i, "invalid JSON: NaN and Infinity are not JSON numbers") }
            guard c == UInt8(ascii: "-") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) else {
                i += 1
                continue
            }
            let start = i
            var isInteger = true
            i += 1
            while i < n {
                let d = text[i]
                if d >= UInt8(ascii: "0") && d <= UInt8(ascii: "9") || d == UInt8(ascii: "-") || d == UInt8(ascii: "+") {
                    i += 1
                } else if d == UInt8(ascii: ".") || d == UInt8(ascii: "e") || d == UInt8(ascii: "E") {
                    isInteger = false
                    i += 1
                } else if d == UInt8(ascii: "I") || d == UInt8(ascii: "N") {
                    return (start, "invalid JSON: NaN and Infinity are not JSON numbers")
                } else {
                    break
                }
            }
            let token = String(decoding: UnsafeRawBufferPointer(rebasing: text[start..<i]), as: UTF8.self)
            let shown = token.count > 40 ? String(token.prefix(40)) + "…" : token
            if token.hasSuffix(".") || token.contains(".e") || token.contains(".E") {
                return (start, "invalid JSON: the number \(shown) has no digit after its '.'")
            }
            let fits = isInteger ? (Int64(token) != nil || UInt64(token) != nil) : (Double(token)?.isFinite ?? true)
            if !fits { return (start, "the number \(shown) does not fit a 64-bit integer or a double") }
        }
        return nil
    }
}
