/// Reads sequences of token ids, one per line, ids separated by commas (`1,2,3`), from bytes
/// fed in pieces: a file is read as a stream, and every bound is checked as the bytes arrive,
/// so a bad file is refused at its first bad byte and memory never exceeds what the limits
/// allow, whatever the file's size.
///
/// Spaces and tabs may surround ids; a line ending is LF or CRLF; blank lines are skipped; a
/// UTF-8 byte-order mark at the start is skipped. Anything else (a NUL, a byte that is not
/// ASCII, a letter, a sign) is an error at that byte.
public struct PromptIDsParser {
    public struct Error: Swift.Error, Sendable, Equatable {
        /// 1-based.
        public var line: Int
        /// Of the byte at fault, from the start of the input.
        public var offset: Int
        public var message: String

        public init(line: Int, offset: Int, message: String) {
            self.line = line
            self.offset = offset
            self.message = message
        }
    }

    public let limits: PromptIDsLimits
    public private(set) var sequences: [[Int]] = []
    private var current: [Int] = []
    private var totalTokens = 0
    private var line = 1
    private var offset = 0
    private var state = State.expectingID
    private var value = 0
    private var digits = 0
    /// A line with nothing but blanks so far (it is skipped if it stays so).
    private var lineIsBlank = true
    private var idStart = 0
    private var byteOrderMarkLength = 0

    private enum State {
        case expectingID, inID, afterID
    }

    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
    /// An id longer than this is out of any vocabulary; the digits stop being accumulated.
    private static let maximumDigits = 18

    public init(limits: PromptIDsLimits) {
        self.limits = limits
    }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(Error) {
        try feed(bytes: bytes)
    }

    public mutating func feed(_ bytes: [UInt8]) throws(Error) {
        try feed(bytes: bytes)
    }

    private mutating func feed<Bytes: Sequence<UInt8>>(bytes: Bytes) throws(Error) {
        for byte in bytes {
            if offset < Self.byteOrderMark.count, byteOrderMarkLength == offset, byte == Self.byteOrderMark[offset] {
                byteOrderMarkLength += 1
            } else {
                if byteOrderMarkLength > 0, byteOrderMarkLength < Self.byteOrderMark.count { throw partialByteOrderMark() }
                try consume(byte)
            }
            offset += 1
        }
    }

    /// Ends the input: the last line needs no line ending.
    public mutating func finish() throws(Error) {
        if byteOrderMarkLength > 0, byteOrderMarkLength < Self.byteOrderMark.count { throw partialByteOrderMark() }
        try endLine()
    }

    private mutating func consume(_ byte: UInt8) throws(Error) {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            switch state {
            case .expectingID:
                state = .inID
                value = 0
                digits = 0
                idStart = offset
                lineIsBlank = false
            case .afterID:
                throw fail("ids must be separated by commas")
            case .inID: break
            }
            digits += 1
            // Past this many digits the value is out of every vocabulary; the digits are still
            // read (without growing anything) so the error names the whole id's start.
            if digits <= Self.maximumDigits { value = value * 10 + Int(byte - UInt8(ascii: "0")) }
        case UInt8(ascii: ","):
            guard state != .expectingID else { throw fail("an empty token id before ','") }
            try endID()
            state = .expectingID
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"):
            if state == .inID {
                try endID()
                state = .afterID
            }
        case UInt8(ascii: "\n"):
            try endLine()
            line += 1
        case 0:
            throw fail("a NUL byte: this is not a text file of token ids")
        case 0x80...:
            throw fail("byte 0x\(String(byte, radix: 16, uppercase: true)) is not ASCII: the file should hold token ids separated by commas, one sequence per line")
        default:
            let shown = (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
            throw fail("\(shown) is not part of a token id list (ids of digits 0-9 separated by commas)")
        }
    }

    private mutating func endID() throws(Error) {
        guard state == .inID else { return }
        guard digits <= Self.maximumDigits, value < limits.vocabulary else {
            let id = digits <= Self.maximumDigits ? "token id \(value)" : "a token id of \(digits) digits"
            throw Error(line: line, offset: idStart, message: "\(id) is outside the vocabulary of \(limits.vocabulary)")
        }
        guard current.count < limits.tokensPerSequence else {
            throw fail("more than \(limits.tokensPerSequence) token ids in one sequence: \(limits.tokensPerSequenceReason)")
        }
        guard totalTokens < limits.totalTokens else {
            throw fail("more than \(limits.totalTokens) token ids in all; split the file")
        }
        current.append(value)
        totalTokens += 1
    }

    private mutating func endLine() throws(Error) {
        if state == .expectingID, !lineIsBlank { throw fail("the line ends after a comma, where a token id should be") }
        try endID()
        state = .expectingID
        defer { lineIsBlank = true }
        guard !current.isEmpty else { return }
        guard sequences.count < limits.sequences else {
            throw fail("more than \(limits.sequences) sequences (one per line); split the file")
        }
        sequences.append(current)
        current = []
    }

    private func fail(_ message: String) -> Error {
        Error(line: line, offset: offset, message: message)
    }

    private func partialByteOrderMark() -> Error {
        Error(line: 1, offset: 0, message: "byte 0xEF is not ASCII: the file should hold token ids separated by commas, one sequence per line")
    }
}
