/// Generated text as it is made: token bytes in, text out as soon as it is whole UTF-8 and
/// cannot be the start of a stop string; the text stops before the first stop string, which is
/// never shown (as llama.cpp's `--reverse-prompt` / server `stop` hold back a partial match).
public struct TextStream: Sendable {
    public let stops: [String]
    /// Bytes not yet whole UTF-8 (a character split across tokens).
    private var pendingBytes: [UInt8] = []
    /// Decoded text not yet shown, because it may begin a stop string.
    private var heldBack = ""
    public private(set) var stopped = false
    /// All the text shown so far.
    public private(set) var shown = ""

    public init(stops: [String] = []) {
        self.stops = stops.filter { !$0.isEmpty }
    }

    /// Takes one token's bytes; returns the text that may be shown now.
    public mutating func append(_ bytes: [UInt8]) -> String {
        guard !stopped else { return "" }
        pendingBytes += bytes
        let whole = Self.wholePrefixLength(pendingBytes)
        guard whole > 0 else { return "" }
        heldBack += String(decoding: pendingBytes[..<whole], as: UTF8.self)
        pendingBytes.removeFirst(whole)
        return release()
    }

    /// The text still held at the end: a partial stop string that never completed, and
    /// bytes that never became whole UTF-8 (shown as U+FFFD, as a lossy decoder does).
    public mutating func finish() -> String {
        guard !stopped else { return "" }
        if !pendingBytes.isEmpty {
            heldBack += String(decoding: pendingBytes, as: UTF8.self)
            pendingBytes.removeAll()
        }
        let rest = heldBack
        heldBack = ""
        shown += rest
        return rest
    }

    private mutating func release() -> String {
        let text = shown + heldBack
        let shownCount = shown.unicodeScalars.count
        // The earliest stop string in the text not yet shown (it may begin in shown text only
        // if it was held, so searching from the start of the held part's overlap is enough).
        var cut: String.UnicodeScalarView.Index?
        let scalars = text.unicodeScalars
        for stop in stops {
            if let range = text.range(of: stop), cut == nil || range.lowerBound < cut! { cut = range.lowerBound }
        }
        if let cut {
            stopped = true
            let visible = String(scalars[scalars.index(scalars.startIndex, offsetBy: shownCount)..<cut])
            shown += visible
            heldBack = ""
            return visible
        }
        // Hold the longest suffix that a stop string begins with.
        var hold = 0
        let held = Array(heldBack.unicodeScalars)
        for stop in stops {
            let stopScalars = Array(stop.unicodeScalars)
            for length in stride(from: min(stopScalars.count - 1, held.count), to: hold, by: -1)
            where held[(held.count - length)...].elementsEqual(stopScalars[..<length]) {
                hold = length
                break
            }
        }
        let release = String(String.UnicodeScalarView(held[..<(held.count - hold)]))
        heldBack = String(String.UnicodeScalarView(held[(held.count - hold)...]))
        shown += release
        return release
    }

    /// The bytes of `bytes` that end on a character boundary: a trailing lead byte whose
    /// continuation bytes have not all arrived stays pending; invalid bytes pass (decoded as
    /// U+FFFD) rather than stalling the stream.
    static func wholePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var i = n - 1, seen = 0
        while i >= 0 && seen < 3 && bytes[i] & 0xC0 == 0x80 {
            i -= 1
            seen += 1
        }
        guard i >= 0 else { return n }
        let lead = bytes[i]
        let needed = lead >= 0xF0 && lead < 0xF8 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        return needed > n - i ? i : n
    }
}
