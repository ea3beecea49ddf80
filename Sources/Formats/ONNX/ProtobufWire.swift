import Tensors

/// A bounds-checked walk over the fields of one protobuf message in a mapped file.
///
/// swift-protobuf copies every `bytes` field it decodes. For an ONNX model the weights are
/// such fields (TensorProto.raw_data), so the reader walks the top levels of the message
/// itself, hands everything except the weights to swift-protobuf, and keeps the weights as
/// byte ranges of the mapped file: zero-copy, and with the offsets `inspect` reports.
struct ProtobufWire {
    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case startGroup = 3
        case endGroup = 4
        case fixed32 = 5
    }

    struct Field {
        var number: UInt64
        var wireType: WireType
        /// From the first byte of the tag to the end of the value.
        var encoded: Range<Int>
        /// The payload of a length-delimited field; empty for the other wire types.
        var payload: Range<Int>
    }

    /// The whole file; ranges below are offsets into it.
    let bytes: UnsafeRawBufferPointer
    let path: String

    /// Deepest group nesting accepted inside an unknown field (swift-protobuf's own limit).
    static let maximumGroupDepth = 100

    func error(_ offset: Int, _ message: String) -> FormatError {
        FormatError(path: path, location: .offset(offset), "not a valid ONNX protobuf (truncated?): \(message)")
    }

    /// Calls `body` for each field of the message encoded in `range`, in order.
    func forEachField(in range: Range<Int>, _ body: (Field) throws -> Void) throws {
        var offset = range.lowerBound
        while offset < range.upperBound {
            let field = try readField(at: offset, limit: range.upperBound)
            try body(field)
            offset = field.encoded.upperBound
        }
    }

    /// Splits the message in `range` into runs of ordinary fields, for `merge`, and the
    /// fields numbered in `special`, for `handle`. Both are called in file order.
    ///
    /// Merging a message's fields run by run gives the same message as decoding it whole:
    /// protobuf defines a message as the merge of its fields.
    func split(_ range: Range<Int>, special: Set<UInt64>,
               merge: (Range<Int>) throws -> Void, handle: (Field) throws -> Void) throws {
        var runStart = range.lowerBound
        try forEachField(in: range) { field in
            guard special.contains(field.number) else { return }
            guard field.wireType == .lengthDelimited else {
                throw error(field.encoded.lowerBound, "field \(field.number) has wire type \(field.wireType.rawValue), expected 2 (length-delimited)")
            }
            if runStart < field.encoded.lowerBound { try merge(runStart..<field.encoded.lowerBound) }
            try handle(field)
            runStart = field.encoded.upperBound
        }
        if runStart < range.upperBound { try merge(runStart..<range.upperBound) }
    }

    private func readField(at start: Int, limit: Int) throws -> Field {
        var offset = start
        let tag = try varint(&offset, limit: limit)
        let number = tag >> 3
        guard number != 0, number < (1 << 29) else { throw error(start, "invalid field number \(number)") }
        guard let wireType = WireType(rawValue: UInt8(tag & 7)) else {
            throw error(start, "invalid wire type \(tag & 7)")
        }
        var payload = offset..<offset
        switch wireType {
        case .varint:
            _ = try varint(&offset, limit: limit)
        case .fixed64:
            offset = try advance(offset, by: 8, limit: limit)
        case .fixed32:
            offset = try advance(offset, by: 4, limit: limit)
        case .lengthDelimited:
            let length = try varint(&offset, limit: limit)
            guard let count = Checked.int(length) else { throw error(offset, "length \(length) runs past the end of the message") }
            let begin = offset
            offset = try advance(offset, by: count, limit: limit)
            payload = begin..<offset
        case .startGroup:
            offset = try skipGroup(number, from: offset, limit: limit)
        case .endGroup:
            throw error(start, "end of group \(number) without a start")
        }
        return Field(number: number, wireType: wireType, encoded: start..<offset, payload: payload)
    }

    /// Skips to just past the end-group tag matching `number`, nested groups included.
    private func skipGroup(_ number: UInt64, from start: Int, limit: Int) throws -> Int {
        var open: [UInt64] = [number]
        var offset = start
        while let innermost = open.last {
            let fieldStart = offset
            let tag = try varint(&offset, limit: limit)
            let inner = tag >> 3
            switch tag & 7 {
            case 0: _ = try varint(&offset, limit: limit)
            case 1: offset = try advance(offset, by: 8, limit: limit)
            case 5: offset = try advance(offset, by: 4, limit: limit)
            case 2:
                let length = try varint(&offset, limit: limit)
                guard let count = Checked.int(length) else { throw error(offset, "length \(length) runs past the end of the message") }
                offset = try advance(offset, by: count, limit: limit)
            case 3:
                guard open.count < Self.maximumGroupDepth else { throw error(fieldStart, "groups nested too deeply") }
                open.append(inner)
            case 4:
                guard inner == innermost else { throw error(fieldStart, "end of group \(inner) inside group \(innermost)") }
                open.removeLast()
            default:
                throw error(fieldStart, "invalid wire type \(tag & 7)")
            }
        }
        return offset
    }

    private func advance(_ offset: Int, by count: Int, limit: Int) throws -> Int {
        guard let end = Checked.add(offset, count), end <= limit else {
            throw error(offset, "a field of \(count) bytes runs past the end of its message (at byte \(limit))")
        }
        return end
    }

    private func varint(_ offset: inout Int, limit: Int) throws -> UInt64 {
        let start = offset
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < limit else { throw error(start, "varint runs past the end of its message") }
            let byte = bytes[offset]
            offset += 1
            if shift == 63 && byte > 1 { throw error(start, "varint longer than 64 bits") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            if shift > 63 { throw error(start, "varint longer than 10 bytes") }
        }
    }
}
