/// Serializes `JSONValue` deterministically.
///
/// Floats are written as the shortest decimal that reads back to the same value; non-finite
/// floats, which JSON cannot hold, are written as the strings "NaN", "Infinity", "-Infinity".
public struct JSONWriter {
    public var indent: Int?

    public init(indent: Int? = 2) {
        self.indent = indent
    }

    public func string(_ value: JSONValue) -> String {
        var out = ""
        write(value, depth: 0, into: &out)
        return out
    }

    private func newline(_ depth: Int, into out: inout String) {
        guard let indent else { return }
        out += "\n"
        out += String(repeating: " ", count: indent * depth)
    }

    private func write(_ value: JSONValue, depth: Int, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .uint(let u): out += String(u)
        case .double(let d): out += Self.number(d)
        case .float(let f): out += f.isFinite ? "\(f)" : Self.number(Double(f))
        case .string(let s): Self.quote(s, into: &out)
        case .array(let items):
            // Arrays of scalars stay on one line: shapes and metadata arrays read better so.
            let scalars = items.allSatisfy { if case .array = $0 { return false }; if case .object = $0 { return false }; if case .lazyArray = $0 { return false }; return true }
            writeArray(count: items.count, scalars: scalars, depth: depth, into: &out) { items[$0] }
        case .lazyArray(let lazy):
            writeArray(count: lazy.count, scalars: lazy.itemsAreScalars, depth: depth, into: &out, item: lazy.item)
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (key, item)) in members.enumerated() {
                if i > 0 { out += "," }
                newline(depth + 1, into: &out)
                Self.quote(key, into: &out)
                out += indent == nil ? ":" : ": "
                write(item, depth: depth + 1, into: &out)
            }
            newline(depth, into: &out)
            out += "}"
        }
    }

    private func writeArray(count: Int, scalars: Bool, depth: Int, into out: inout String, item: (Int) -> JSONValue) {
        if count == 0 { out += "[]"; return }
        out += "["
        for i in 0..<count {
            if i > 0 { out += scalars || indent == nil ? (indent == nil ? "," : ", ") : "," }
            if !scalars { newline(depth + 1, into: &out) }
            write(item(i), depth: depth + 1, into: &out)
        }
        if !scalars { newline(depth, into: &out) }
        out += "]"
    }

    public static func number(_ d: Double) -> String {
        if d.isNaN { return "\"NaN\"" }
        if d.isInfinite { return d < 0 ? "\"-Infinity\"" : "\"Infinity\"" }
        return "\(d)"
    }

    public static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            // C0, DEL and C1 controls: escaped, so JSON printed to a terminal carries none raw.
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value):
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
