/// Finds repeated keys in a JSON object, which json-c (like most parsers) silently merges.
///
/// safetensors requires unique tensor names, so the raw header text is scanned for the keys
/// of the outermost object. The text has already been parsed, so it is known to be valid.
enum JSONKeyScanner {
    static func firstDuplicateTopLevelKey(_ text: UnsafeRawBufferPointer) -> String? {
        var seen = Set<[UInt8]>()
        var depth = 0
        var i = 0
        var expectKey = false
        while i < text.count {
            let byte = text[i]
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectKey = byte == UInt8(ascii: "{") && depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                expectKey = depth == 1
            case UInt8(ascii: "\""):
                let start = i + 1
                i = start
                var raw: [UInt8] = []
                while i < text.count, text[i] != UInt8(ascii: "\"") {
                    if text[i] == UInt8(ascii: "\\") { raw.append(text[i]); i += 1 }
                    if i < text.count { raw.append(text[i]) }
                    i += 1
                }
                if expectKey {
                    // Keys are compared as written; escaped spellings of one name are rare
                    // enough that the parsed form is only used for the message.
                    if !seen.insert(raw).inserted { return String(decoding: raw, as: UTF8.self) }
                    expectKey = false
                }
            default:
                break
            }
            i += 1
        }
        return nil
    }
}
