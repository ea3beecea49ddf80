import Foundation

/// One self-contained HTML page (inline SVG, no script, no network) for people who would
/// rather look than read: `convert --report-html` and `verify --html` write it.
///
/// Three charts, each an `<svg>` with an id that tests look for: `chart-bits` (bits per weight
/// of each converted matrix, in graph order, so the layers read left to right), `chart-error`
/// (each matrix's calibration error before and after compensation, log scale) and `chart-kl`
/// (KL divergence per position, with the positions whose top-1 token differs marked). A chart
/// without data says so instead of drawing empty axes.
public struct FidelityPage: Sendable {
    public struct Matrix: Sendable {
        public var name: String
        public var format: String
        public var bitsPerWeight: Double
        /// Relative output error tr(ΔW H ΔWᵀ) / tr(W H Wᵀ) of rounding alone, and after compensation.
        public var errorBefore: Double?
        public var errorAfter: Double?

        public init(name: String, format: String, bitsPerWeight: Double, errorBefore: Double? = nil, errorAfter: Double? = nil) {
            self.name = name
            self.format = format
            self.bitsPerWeight = bitsPerWeight
            self.errorBefore = errorBefore
            self.errorAfter = errorAfter
        }
    }

    public struct Position: Sendable {
        public var kl: Double
        public var sameTop1: Bool

        public init(kl: Double, sameTop1: Bool) {
            self.kl = kl
            self.sameTop1 = sameTop1
        }
    }

    public var title: String
    /// Key figures shown above the charts, in order.
    public var summary: [(String, String)]
    public var matrices: [Matrix]
    public var positions: [Position]

    public init(title: String, summary: [(String, String)] = [], matrices: [Matrix] = [], positions: [Position] = []) {
        self.title = title
        self.summary = summary
        self.matrices = matrices
        self.positions = positions
    }

    static let width = 960.0, height = 280.0, left = 64.0, right = 16.0, top = 24.0, bottom = 40.0
    static let bitsColor = "#3465a4", beforeColor = "#cc0000", afterColor = "#4e9a06", klColor = "#75507b", missColor = "#f57900"

    public func html() -> String {
        var out = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(Self.escape(title))</title>
        <style>
        body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
        h1{font-size:20px}h2{font-size:16px;margin-top:28px}
        table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #ddd}
        svg{background:#fafafa;border:1px solid #ddd}
        .axis{stroke:#888;stroke-width:1}.grid{stroke:#e4e4e4;stroke-width:1}
        text{font:11px system-ui,sans-serif;fill:#444}
        </style></head><body>
        <h1>\(Self.escape(title))</h1>

        """
        if !summary.isEmpty {
            out += "<table>\n"
            for (key, value) in summary { out += "<tr><th>\(Self.escape(key))</th><td>\(Self.escape(value))</td></tr>\n" }
            out += "</table>\n"
        }
        out += "<h2>Bits per weight of each converted matrix</h2>\n" + bitsChart()
        out += "<h2>Calibration error before and after compensation (relative output error, log scale)</h2>\n" + errorChart()
        out += "<h2>KL divergence per position (orange: the top-1 token differs)</h2>\n" + klChart()
        if !matrices.isEmpty {
            out += "<h2>Matrices</h2>\n<table><tr><th>matrix</th><th>format</th><th>bits/weight</th><th>error before</th><th>error after</th></tr>\n"
            for m in matrices {
                out += "<tr><td>\(Self.escape(m.name))</td><td>\(Self.escape(m.format))</td><td>\(Self.number(m.bitsPerWeight))</td>"
                out += "<td>\(m.errorBefore.map(Self.number) ?? "-")</td><td>\(m.errorAfter.map(Self.number) ?? "-")</td></tr>\n"
            }
            out += "</table>\n"
        }
        return out + "</body></html>\n"
    }

    // MARK: charts

    func bitsChart() -> String {
        guard !matrices.isEmpty else { return Self.empty(id: "chart-bits", "no converted matrices") }
        let top = max(matrices.map(\.bitsPerWeight).max() ?? 1, 1)
        let scale = Axis(low: 0, high: top.rounded(.up), logarithmic: false)
        var body = scale.grid(ticks: Self.linearTicks(high: top.rounded(.up)))
        let slot = (Self.width - Self.left - Self.right) / Double(matrices.count)
        for (i, m) in matrices.enumerated() {
            let y = scale.y(m.bitsPerWeight)
            body += "<rect x=\"\(Self.number(Self.left + Double(i) * slot))\" y=\"\(Self.number(y))\" width=\"\(Self.number(max(slot * 0.8, 0.5)))\" height=\"\(Self.number(Self.height - Self.bottom - y))\" fill=\"\(Self.bitsColor)\"><title>\(Self.escape(m.name)): \(Self.escape(m.format)), \(Self.number(m.bitsPerWeight)) bits</title></rect>\n"
        }
        return Self.svg(id: "chart-bits", body + Self.xLabel("matrices in graph order (\(matrices.count))"))
    }

    func errorChart() -> String {
        let values = matrices.flatMap { [$0.errorBefore, $0.errorAfter].compactMap { $0 } }.filter { $0 > 0 && $0.isFinite }
        guard let low = values.min(), let high = values.max() else {
            return Self.empty(id: "chart-error", "no calibration errors: the conversion was not calibrated")
        }
        let lowExponent = (Self.log10(low)).rounded(.down), highExponent = max((Self.log10(high)).rounded(.up), lowExponent + 1)
        let scale = Axis(low: lowExponent, high: highExponent, logarithmic: true)
        var body = scale.grid(ticks: Array(stride(from: lowExponent, through: highExponent, by: 1)))
        let slot = (Self.width - Self.left - Self.right) / Double(matrices.count)
        for (i, m) in matrices.enumerated() {
            let x = Self.left + (Double(i) + 0.5) * slot
            for (value, color, label) in [(m.errorBefore, Self.beforeColor, "before"), (m.errorAfter, Self.afterColor, "after")] {
                guard let value, value > 0, value.isFinite else { continue }
                body += "<circle cx=\"\(Self.number(x))\" cy=\"\(Self.number(scale.y(value)))\" r=\"2.5\" fill=\"\(color)\"><title>\(Self.escape(m.name)) \(label): \(Self.number(value))</title></circle>\n"
            }
        }
        body += Self.legend([("before compensation", Self.beforeColor), ("after", Self.afterColor)])
        return Self.svg(id: "chart-error", body + Self.xLabel("matrices in graph order (\(matrices.count))"))
    }

    func klChart() -> String {
        let finite = positions.map(\.kl).filter(\.isFinite)
        guard !finite.isEmpty else { return Self.empty(id: "chart-kl", "no per-position KL divergence") }
        let high = max(finite.max() ?? 1, 1e-6)
        let scale = Axis(low: 0, high: high, logarithmic: false)
        var body = scale.grid(ticks: Self.linearTicks(high: high))
        let span = Self.width - Self.left - Self.right
        func x(_ i: Int) -> Double { Self.left + span * (positions.count == 1 ? 0.5 : Double(i) / Double(positions.count - 1)) }
        var path = ""
        for (i, p) in positions.enumerated() where p.kl.isFinite {
            path += (path.isEmpty ? "M" : " L") + "\(Self.number(x(i))),\(Self.number(scale.y(p.kl)))"
        }
        body += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(Self.klColor)\" stroke-width=\"1.2\"/>\n"
        for (i, p) in positions.enumerated() where !p.sameTop1 {
            body += "<line x1=\"\(Self.number(x(i)))\" x2=\"\(Self.number(x(i)))\" y1=\"\(Self.number(Self.height - Self.bottom))\" y2=\"\(Self.number(Self.height - Self.bottom + 6))\" stroke=\"\(Self.missColor)\" stroke-width=\"1.5\"/>\n"
        }
        let agree = positions.filter(\.sameTop1).count
        body += Self.legend([("KL divergence", Self.klColor), ("top-1 differs (\(positions.count - agree) of \(positions.count))", Self.missColor)])
        return Self.svg(id: "chart-kl", body + Self.xLabel("position (\(positions.count))"))
    }

    /// The plot area's vertical mapping, linear or in decades.
    struct Axis {
        var low: Double, high: Double, logarithmic: Bool

        func y(_ value: Double) -> Double {
            let v = logarithmic ? FidelityPage.log10(value) : value
            let fraction = high > low ? (v - low) / (high - low) : 0
            let plot = FidelityPage.height - FidelityPage.top - FidelityPage.bottom
            return FidelityPage.height - FidelityPage.bottom - plot * min(max(fraction, 0), 1)
        }

        func grid(ticks: [Double]) -> String {
            var out = "<line class=\"axis\" x1=\"\(FidelityPage.left)\" x2=\"\(FidelityPage.left)\" y1=\"\(FidelityPage.top)\" y2=\"\(FidelityPage.height - FidelityPage.bottom)\"/>\n"
            out += "<line class=\"axis\" x1=\"\(FidelityPage.left)\" x2=\"\(FidelityPage.width - FidelityPage.right)\" y1=\"\(FidelityPage.height - FidelityPage.bottom)\" y2=\"\(FidelityPage.height - FidelityPage.bottom)\"/>\n"
            for tick in ticks {
                let value = logarithmic ? FidelityPage.pow10(tick) : tick
                let y = FidelityPage.number(self.y(value))
                out += "<line class=\"grid\" x1=\"\(FidelityPage.left)\" x2=\"\(FidelityPage.width - FidelityPage.right)\" y1=\"\(y)\" y2=\"\(y)\"/>"
                out += "<text x=\"\(FidelityPage.left - 6)\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(logarithmic ? "1e\(Int(tick))" : FidelityPage.number(tick))</text>\n"
            }
            return out
        }
    }

    static func svg(id: String, _ body: String) -> String {
        "<svg id=\"\(id)\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n\(body)</svg>\n"
    }

    static func empty(id: String, _ message: String) -> String {
        svg(id: id, "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\">\(escape(message))</text>\n")
    }

    static func xLabel(_ text: String) -> String {
        "<text x=\"\(number((left + width - right) / 2))\" y=\"\(number(height - 8))\" text-anchor=\"middle\">\(escape(text))</text>\n"
    }

    static func legend(_ items: [(String, String)]) -> String {
        var out = "", x = left + 12
        for (label, color) in items {
            out += "<rect x=\"\(number(x))\" y=\"6\" width=\"10\" height=\"10\" fill=\"\(color)\"/><text x=\"\(number(x + 14))\" y=\"15\">\(escape(label))</text>\n"
            x += 24 + Double(label.count) * 6.5
        }
        return out
    }

    static func linearTicks(high: Double) -> [Double] {
        guard high > 0 else { return [0] }
        var step = pow10(log10(high / 4).rounded(.down))
        if high / step > 8 { step *= 2 }
        if high / step > 8 { step *= 2.5 }
        return Array(stride(from: 0, through: high * 1.0001, by: step))
    }

    static func log10(_ x: Double) -> Double { Foundation.log10(x) }

    static func pow10(_ exponent: Double) -> Double { Foundation.pow(10, exponent.rounded(.down)) }

    /// A short decimal: at most 4 significant digits, plain for ordinary magnitudes.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e5 || magnitude < 1e-3 {
            let e = Int(log10(magnitude).rounded(.down))
            let mantissa = value / pow10(Double(e))
            return "\(number(mantissa))e\(e)"
        }
        let digits = max(0, 3 - Int(log10(magnitude).rounded(.down)))
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (value * scale).rounded() / scale
        var text = "\(scaled)"
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
