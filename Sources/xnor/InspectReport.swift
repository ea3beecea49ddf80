import Formats

/// The two forms `xnor inspect` prints: a JSON object for scripts and a summary for people.
enum InspectReport {
    /// `format` names a format carried inside the container (.xnor inside GGUF); `trailer`
    /// adds members at the end ("graph").
    static func json(_ model: ModelFile, format: String? = nil, trailer: [(String, JSONValue)] = []) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("format", .string(format ?? model.format.rawValue)),
            ("path", .string(model.path)),
        ]
        if let version = model.version { members.append(("version", .int(Int64(version)))) }
        members += model.extra
        members.append(("metadata", .object(model.metadata.map { ($0.key, $0.value) })))
        if model.format == .gguf {
            members.append(("metadata_types", .object(model.metadata.map { ($0.key, .string($0.typeName ?? "")) })))
        }
        members.append(("tensors", .array(model.tensors.map { tensorJSON($0, model: model) })))
        return .object(members + trailer)
    }

    private static func tensorJSON(_ tensor: TensorEntry, model: ModelFile) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("name", .string(tensor.name)),
            ("dtype", .string(tensor.type.description)),
            ("shape", .array(tensor.shape.map { .int(Int64($0)) })),
            ("offset", .int(Int64(tensor.offset))),
            ("nbytes", .int(Int64(tensor.byteCount))),
        ]
        if model.format == .gguf { members.append(("ne", .array(tensor.ne.map { .int(Int64($0)) }))) }
        if model.format == .huggingFaceFolder { members.append(("file", .string(HuggingFaceFolder.shardName(of: tensor)))) }
        return .object(members)
    }

    /// Arrays longer than this are shortened in the text form.
    static let shownArrayItems = 8

    /// `format` replaces the format line's name; `notes` are lines printed after it.
    static func text(_ model: ModelFile, format: String? = nil, notes: [String] = []) -> String {
        var out = "path: \(model.path)\n"
        if let format {
            out += "format: \(format)"
        } else {
            switch model.format {
            case .gguf: out += "format: GGUF v\(model.version ?? 0)"
            case .safetensors: out += "format: safetensors"
            case .huggingFaceFolder: out += "format: Hugging Face folder (safetensors)"
            }
        }
        for (key, value) in model.extra where key == "alignment" { out += ", alignment \(short(value))" }
        out += "\n"
        for note in notes { out += note + "\n" }
        if let config = model.extra.first(where: { $0.0 == "config" })?.1, let members = config.objectValue {
            out += "config (\(members.count) keys):\n"
            out += table(members.map { ["  " + $0.0, short($0.1)] })
        }
        out += "metadata (\(model.metadata.count) keys):\n"
        out += table(count: model.metadata.count) { i in
            let entry = model.metadata[i]
            return ["  " + entry.key, entry.typeName ?? "", short(entry)]
        }

        let parameters = model.tensors.reduce(0) { $0 + $1.elementCount }
        let bytes = model.tensors.reduce(0) { $0 + $1.byteCount }
        out += "tensors: \(model.tensors.count), parameters: \(Units.count(parameters)) (\(parameters)), bytes: \(Units.bytes(bytes)) (\(bytes))\n"
        var byType: [String: (count: Int, bytes: Int)] = [:]
        for tensor in model.tensors {
            let key = tensor.type.description
            byType[key, default: (0, 0)].count += 1
            byType[key, default: (0, 0)].bytes += tensor.byteCount
        }
        out += "bytes per dtype:\n"
        out += table(byType.sorted { $0.value.bytes > $1.value.bytes }.map {
            ["  " + $0.key, "\($0.value.count) tensors", Units.bytes($0.value.bytes)]
        })
        out += "tensors:\n"
        out += table(count: model.tensors.count) { i in
            let tensor = model.tensors[i]
            return ["  " + tensor.name, tensor.type.description, "[" + tensor.shape.map(String.init).joined(separator: ", ") + "]", Units.bytes(tensor.byteCount)]
        }
        return out
    }

    /// A metadata entry on one line. A GGUF array is cut short before anything is converted,
    /// so a 60 MB array prints its first items without decoding the rest.
    static func short(_ entry: ModelFile.MetadataEntry) -> String {
        guard case .array(let array)? = entry.gguf, array.count > shownArrayItems else { return short(entry.value) }
        let shown = (0..<shownArrayItems).map { short(array[$0].json) }.joined(separator: ", ")
        return "[\(shown), … (\(array.count) items)]"
    }

    /// A metadata value on one line, long arrays and strings cut short.
    static func short(_ value: JSONValue) -> String {
        switch value {
        case .array(let items):
            return shortArray(count: items.count) { items[$0] }
        case .lazyArray(let lazy):
            return shortArray(count: lazy.count, item: lazy.item)
        case .string(let s):
            let line = s.count > 80 ? String(s.prefix(77)) + "…" : s
            var out = ""
            JSONWriter.quote(line, into: &out)
            return out
        case .object(let members):
            return "{\(members.count) keys}"
        default:
            return JSONWriter(indent: nil).string(value)
        }
    }

    private static func shortArray(count: Int, item: (Int) -> JSONValue) -> String {
        let shown = (0..<min(count, shownArrayItems)).map { short(item($0)) }.joined(separator: ", ")
        return count > shownArrayItems ? "[\(shown), … (\(count) items)]" : "[\(shown)]"
    }

    static func table(_ rows: [[String]]) -> String {
        table(count: rows.count) { rows[$0] }
    }

    /// The table of `count` rows, each made by `row` when needed (twice: once for the column
    /// widths, once for the text), so a file of millions of entries never holds all its cells.
    static func table(count: Int, row: (Int) -> [String]) -> String {
        var widths: [Int] = []
        for i in 0..<count {
            let cells = row(i)
            if widths.count < cells.count { widths += [Int](repeating: 0, count: cells.count - widths.count) }
            for (c, cell) in cells.enumerated() { widths[c] = max(widths[c], min(cell.count, 60)) }
        }
        var out = ""
        for i in 0..<count {
            let cells = row(i)
            for (c, cell) in cells.enumerated() {
                if c > 0 { out += "  " }
                out += c == cells.count - 1 ? cell : cell.padded(widths[c])
            }
            out += "\n"
        }
        return out
    }
}
