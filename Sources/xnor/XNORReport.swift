import BitPacking
import Formats

/// `inspect` of .xnor files: the GGUF report, named "xnor", with the mode, the source and a
/// summary of the graph; and `inspect --check`, which verifies every tensor's SHA-256.
enum XNORReport {
    static func json(_ file: XNORFile, checked: Bool) throws -> JSONValue {
        var trailer: [(String, JSONValue)] = [("graph", try file.graphJSON())]
        if checked { trailer.append(("checksums_verified", .bool(true))) }
        return InspectReport.json(file.model, format: "xnor", trailer: trailer)
    }

    static func text(_ file: XNORFile, checked: Bool) throws -> String {
        var notes = ["mode: \(file.mode)", "architecture: \(file.architecture)"]
        notes.append("source: \(file.source.format), \(file.source.files.count) file\(file.source.files.count == 1 ? "" : "s")")
        for source in file.source.files { notes.append("  \(source.sha256)  \(source.name)") }
        let graph = try file.graphJSON()
        notes.append(graphSummary(graph))
        notes += matrixSummary(graph)
        if checked { notes.append("checksums: the SHA-256 of all \(file.tensors.count) tensors match") }
        return InspectReport.text(file.model, format: "xnor v\(XNORFile.formatVersion) (GGUF v\(file.model.version ?? 0))", notes: notes)
    }

    /// "graph: 5 nodes (2 XNORPopcountGemm, 2 Relu, 1 Softmax), 1 input, 1 output, 4 initializers"
    static func graphSummary(_ graph: JSONValue) -> String {
        let nodes = graph["nodes"]?.arrayValue ?? []
        var counts: [String: Int] = [:]
        for node in nodes { counts[node["op_type"]?.stringValue ?? "?", default: 0] += 1 }
        let ops = counts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.value) \($0.key)" }
        var parts = ["\(plural(nodes.count, "node"))" + (ops.isEmpty ? "" : " (\(ops.joined(separator: ", ")))")]
        for (key, noun) in [("inputs", "input"), ("outputs", "output"), ("initializers", "initializer")] {
            if let items = graph[key]?.arrayValue { parts.append(plural(items.count, noun)) }
        }
        return "graph: " + parts.joined(separator: ", ")
    }

    /// One line per converted matrix (weight, format, N × K, bits per weight with its scales)
    /// and their weighted mean; the format is the node's `weight_format`, else `mode`'s.
    static func matrixSummary(_ graph: JSONValue) -> [String] {
        var rows: [[String]] = []
        var bits = 0.0, weights = 0.0
        var seen = Set<String>()
        for node in graph["nodes"]?.arrayValue ?? [] where node["op_type"]?.stringValue == "XNORPopcountGemm" {
            var attributes: [String: JSONValue] = [:]
            for item in node["attributes"]?.arrayValue ?? [] {
                if let name = item["name"]?.stringValue, let value = item["value"] { attributes[name] = value }
            }
            guard let weight = attributes["weight"]?.stringValue, seen.insert(weight).inserted,
                  let mode = attributes["mode"]?.stringValue,
                  let n = attributes["n"]?.nonNegativeInt, let k = attributes["k"]?.nonNegativeInt, n > 0, k > 0,
                  let (format, _) = try? WeightFormat.ofNode(mode: mode, weightFormat: attributes["weight_format"]?.stringValue) else { continue }
            let perWeight = format.bitsPerWeight(n: n, k: k)
            bits += perWeight * Double(n) * Double(k)
            weights += Double(n) * Double(k)
            rows.append(["  " + weight, format.name, "\(n) × \(k)", PerplexityText.fixed(perWeight, 4) + " bits/weight"])
        }
        guard !rows.isEmpty else { return [] }
        let header = "packed matrices: \(rows.count), \(PerplexityText.fixed(bits / weights, 4)) bits per weight on average, scales included"
        var table = InspectReport.table(rows)
        while table.last == "\n" { table.removeLast() }
        return [header, table]
    }

    private static func plural(_ n: Int, _ noun: String) -> String {
        "\(n) \(noun)\(n == 1 ? "" : "s")"
    }

    static func kind(of model: ModelFile) -> String {
        switch model.format {
        case .gguf: "a GGUF file"
        case .huggingFaceFolder: "a Hugging Face folder"
        default: "a \(model.format.rawValue) file"
        }
    }

    /// The error for `--check` on a file that has no checksums: only .xnor files record them,
    /// and a check that cannot be made must not pass silently.
    static func nothingToCheck(_ path: String, kind: String) -> FormatError {
        FormatError(path: path, "no checksums to check: --check verifies the per-tensor SHA-256 that .xnor files record, and this is \(kind)")
    }
}
