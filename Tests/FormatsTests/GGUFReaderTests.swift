import Testing
import Formats
import Tensors

private typealias Scratch = ReaderTestSupport.Scratch
private typealias Bytes = ReaderTestSupport.Bytes

/// GGUF value type ids, from the GGUF specification (ggml/docs/gguf.md, `gguf_metadata_value_type`).
private enum ValueID {
    static let uint8: UInt32 = 0, int8: UInt32 = 1, uint16: UInt32 = 2, int16: UInt32 = 3
    static let uint32: UInt32 = 4, int32: UInt32 = 5, float32: UInt32 = 6, bool: UInt32 = 7
    static let string: UInt32 = 8, array: UInt32 = 9, uint64: UInt32 = 10, int64: UInt32 = 11, float64: UInt32 = 12
}

/// ggml type ids, from ggml.h's `enum ggml_type`.
private enum TypeID {
    static let f32: UInt32 = 0, f16: UInt32 = 1, q4_0: UInt32 = 2, q8_0: UInt32 = 8, q4_K: UInt32 = 12, i8: UInt32 = 24
}

/// A GGUF file written field by field: header, key/values, tensor infos, padding, data.
private struct GGUFBytes {
    var version: UInt32 = 3
    var keyValues = Bytes()
    var keyValueCount: UInt64 = 0
    var infos = Bytes()
    var tensorCount: UInt64 = 0
    var alignment = 32
    var data: [UInt8] = []

    mutating func kv(_ key: String, _ type: UInt32, _ value: (inout Bytes) -> Void) {
        keyValues.ggufString(key)
        keyValues.u32(type)
        value(&keyValues)
        keyValueCount += 1
    }

    mutating func tensor(_ name: String, ne: [UInt64], type: UInt32, offset: UInt64) {
        infos.ggufString(name)
        infos.u32(UInt32(ne.count))
        for n in ne { infos.u64(n) }
        infos.u32(type)
        infos.u64(offset)
        tensorCount += 1
    }

    /// The offset where the data section starts: the end of the infos, padded.
    var dataStart: Int {
        let end = 24 + keyValues.count + infos.count
        return (end + alignment - 1) / alignment * alignment
    }

    var bytes: [UInt8] {
        var out = Bytes()
        out.raw(Array("GGUF".utf8))
        out.u32(version)
        out.u64(tensorCount)
        out.u64(keyValueCount)
        out.raw(keyValues.bytes)
        out.raw(infos.bytes)
        if tensorCount > 0 {
            out.pad(toMultipleOf: alignment)
            out.raw(data)
        }
        return out.bytes
    }
}

@Suite struct GGUFReaderTests {
    private let scratch: Scratch

    init() throws { scratch = try Scratch() }

    func read(_ bytes: [UInt8]) throws -> ModelFile {
        try GGUFReader.read(try MappedFile.open(try scratch.write(bytes, to: "m.gguf")))
    }

    func refusal(_ bytes: [UInt8], _ sourceLocation: SourceLocation = #_sourceLocation) -> FormatError? {
        let error = #expect(throws: FormatError.self, sourceLocation: sourceLocation) { try read(bytes) }
        #expect(error?.path == scratch.file("m.gguf"), sourceLocation: sourceLocation)
        return error
    }

    /// Two tensors: F32 "w" with ne [3, 2] at 0, F16 "h" with ne [4] at 32.
    private static func twoTensors() -> GGUFBytes {
        var file = GGUFBytes()
        file.kv("general.architecture", ValueID.string) { $0.ggufString("llama") }
        file.tensor("w", ne: [3, 2], type: TypeID.f32, offset: 0)
        file.tensor("h", ne: [4], type: TypeID.f16, offset: 32)
        var data = Bytes()
        for v: Float in [1, -2, 3.5, 0, -0.25, 100] { data.f32(v) }
        data.pad(toMultipleOf: 32)
        for half: UInt16 in [0x3C00, 0xC000, 0x3800, 0x7BFF] { data.u16(half) }  // 1, -2, 0.5, 65504
        file.data = data.bytes
        return file
    }

    @Test func readsHeaderMetadataAndTensors() throws {
        let file = Self.twoTensors()
        let model = try read(file.bytes)
        #expect(model.format == .gguf)
        #expect(model.version == 3)
        #expect(model.metadata.map(\.key) == ["general.architecture"])
        #expect(model.metadata.first?.value == .string("llama"))
        #expect(model.metadata.first?.typeName == "STRING")
        #expect(model.tensors.map(\.name) == ["w", "h"])

        let w = try #require(model.tensor(named: "w"))
        #expect(w.type == .ggml(.f32))
        #expect(w.shape == [2, 3])  // numpy order: ne reversed
        #expect(w.ne == [3, 2])
        #expect(w.offset == file.dataStart)
        #expect(w.byteCount == 24)
        #expect(try w.floatValues() == [1, -2, 3.5, 0, -0.25, 100])

        let h = try #require(model.tensor(named: "h"))
        #expect(h.type == .ggml(.f16))
        #expect(h.offset == file.dataStart + 32)
        #expect(h.byteCount == 8)
        #expect(try h.floatValues() == [1, -2, 0.5, 65504])
    }

    /// FuzzGGUF: a file that ends before its padded data section, holding only an empty tensor.
    /// gguf-py 0.19 reads it (one tensor, data offset past the end, 0 bytes), and so do we.
    @Test func anEmptyTensorPastTheEndOfTheFileIsRead() throws {
        var file = GGUFBytes()
        file.tensor("e", ne: [0, 4], type: TypeID.f32, offset: 0)
        let bytes = Array(file.bytes.prefix(file.dataStart - 2))  // ends 2 bytes short of the padding
        let model = try read(bytes)
        let tensor = try #require(model.tensors.first)
        #expect(tensor.offset == file.dataStart && tensor.offset > bytes.count)
        #expect(tensor.byteCount == 0)
        #expect(try tensor.floatValues() == [])
    }

    @Test func versionTwoIsAcceptedAndVersionOneRefused() throws {
        var file = Self.twoTensors()
        file.version = 2
        #expect(try read(file.bytes).version == 2)
        for version: UInt32 in [0, 1, 4, 0xFFFF] {
            file.version = version
            let error = refusal(file.bytes)
            #expect(error?.location == .fieldAtOffset("version", 4))
            #expect(error?.description.contains("version \(version)") == true)
        }
    }

    @Test func bigEndianFileIsNamedAsSuch() {
        var file = Self.twoTensors()
        file.version = UInt32(3).byteSwapped  // bytes 00 00 00 03, as a big-endian writer puts them
        let error = refusal(file.bytes)
        #expect(error?.description.contains("big-endian") == true)
    }

    @Test func badMagicIsRefused() {
        var bytes = Self.twoTensors().bytes
        bytes[0] = UInt8(ascii: "X")
        #expect(refusal(bytes)?.description.contains("not a GGUF file") == true)
        #expect(refusal(Array("GGU".utf8))?.description.contains("end of file") == true)
    }

    @Test func everyTruncationIsRefused() throws {
        let bytes = Self.twoTensors().bytes
        for cut in 0..<bytes.count {
            #expect(throws: FormatError.self, "prefix of \(cut) bytes") { try read(Array(bytes[..<cut])) }
        }
    }

    // MARK: Counts and lengths

    @Test func countsNearTwoToTheSixtyFourAreRefused() {
        for count: UInt64 in [UInt64.max, UInt64.max - 1, 1 << 63, UInt64(Int64.max), 1 << 40] {
            var tensors = Bytes()
            tensors.raw(Array("GGUF".utf8)); tensors.u32(3); tensors.u64(count); tensors.u64(0)
            let error = refusal(tensors.bytes)
            #expect(error?.location == .fieldAtOffset("tensor count", 8))
            #expect(error?.description.contains("\(count)") == true)

            var keyValues = Bytes()
            keyValues.raw(Array("GGUF".utf8)); keyValues.u32(3); keyValues.u64(0); keyValues.u64(count)
            #expect(refusal(keyValues.bytes)?.location == .fieldAtOffset("metadata key/value count", 16))
        }
    }

    @Test func stringLengthPastTheEndIsRefused() {
        for length: UInt64 in [6, 1000, UInt64.max, 1 << 63] {
            var bytes = Bytes()
            bytes.raw(Array("GGUF".utf8)); bytes.u32(3); bytes.u64(0); bytes.u64(1)
            bytes.u64(length)
            bytes.raw(Array("abcde".utf8))
            let error = refusal(bytes.bytes)
            #expect(error?.location == .fieldAtOffset("metadata key length", 24))
            #expect(error?.description.contains("string length \(length)") == true)
        }
        // A string value, not only a key.
        var file = GGUFBytes()
        file.kv("k", ValueID.string) { $0.u64(100); $0.raw([1, 2, 3]) }
        #expect(refusal(file.bytes)?.description.contains("string length 100") == true)
    }

    @Test func arrayLengthPastTheEndIsRefused() {
        for (element, count) in [(ValueID.uint8, UInt64.max), (ValueID.string, 1 << 61), (ValueID.array, 1 << 62), (ValueID.uint64, 3)] {
            var file = GGUFBytes()
            file.kv("a", ValueID.array) { $0.u32(element); $0.u64(count); $0.raw(Array(repeating: 0, count: 16)) }
            let error = refusal(file.bytes)
            #expect(error?.description.contains("array length") == true, "\(element) × \(count): \(error?.description ?? "")")
        }
    }

    @Test func deeplyNestedArraysAreRefused() throws {
        var file = GGUFBytes()
        file.kv("nested", ValueID.array) { bytes in
            for _ in 0..<20 { bytes.u32(ValueID.array); bytes.u64(1) }
            bytes.u32(ValueID.uint8); bytes.u64(1); bytes.u8(7)
        }
        #expect(refusal(file.bytes)?.description.contains("nested") == true)
    }

    @Test func invalidUTF8KeyIsRefused() {
        var file = GGUFBytes()
        file.keyValues.u64(2); file.keyValues.raw([0xC3, 0x28]); file.keyValues.u32(ValueID.uint8); file.keyValues.u8(1)
        file.keyValueCount = 1
        #expect(refusal(file.bytes)?.description.contains("UTF-8") == true)
    }

    @Test func unknownValueTypeIsRefused() {
        var file = GGUFBytes()
        file.kv("k", 13) { $0.u32(0) }
        let error = refusal(file.bytes)
        #expect(error?.description.contains("unknown value type 13") == true)
        #expect(error?.description.contains("'k'") == true)
    }

    @Test func duplicateKeyIsRefused() {
        var file = GGUFBytes()
        file.kv("general.name", ValueID.string) { $0.ggufString("a") }
        file.kv("general.name", ValueID.uint8) { $0.u8(1) }
        let error = refusal(file.bytes)
        #expect(error?.description.contains("duplicate key") == true)
        #expect(error?.description.contains("general.name") == true)
    }

    // MARK: Tensor infos

    @Test func fiveDimensionsAreRefused() {
        var file = GGUFBytes()
        file.tensor("t", ne: [1, 1, 1, 1, 1], type: TypeID.f32, offset: 0)
        file.data = [0, 0, 0, 0]
        let error = refusal(file.bytes)
        #expect(error?.location == .fieldAtOffset("tensor 't' n_dims", 24 + 8 + 1))
        #expect(error?.description.contains("n_dims 5") == true)
        // n_dims is read before any dimension, so a huge value allocates nothing.
        var huge = GGUFBytes()
        huge.infos.ggufString("t"); huge.infos.u32(UInt32.max); huge.tensorCount = 1
        huge.infos.raw(Array(repeating: 0, count: 16))
        #expect(refusal(huge.bytes)?.description.contains("n_dims \(UInt32.max)") == true)
    }

    @Test func fourAndZeroDimensionsAreAccepted() throws {
        var file = GGUFBytes()
        file.tensor("four", ne: [2, 1, 3, 1], type: TypeID.i8, offset: 0)
        file.tensor("scalar", ne: [], type: TypeID.f32, offset: 32)
        var data = Bytes()
        data.raw([1, 2, 3, 4, 5, 0xFF]); data.pad(toMultipleOf: 32); data.f32(-7)
        file.data = data.bytes
        let model = try read(file.bytes)
        #expect(model.tensor(named: "four")?.shape == [1, 3, 1, 2])
        #expect(try model.tensor(named: "four")?.floatValues() == [1, 2, 3, 4, 5, -1])
        #expect(model.tensor(named: "scalar")?.shape == [])
        #expect(try model.tensor(named: "scalar")?.floatValues() == [-7])
    }

    @Test func dimensionProductsThatOverflowAreRefused() {
        // 2^32 × 2^32 = 2^64; 2^62 × 4 = 2^64; a dimension of 2^63 is beyond int64 itself.
        for ne: [UInt64] in [[1 << 32, 1 << 32], [1 << 62, 4], [1 << 63], [UInt64.max], [3, 1 << 21, 1 << 21, 1 << 21]] {
            var file = GGUFBytes()
            file.tensor("t", ne: ne, type: TypeID.f32, offset: 0)
            file.data = [0, 0, 0, 0]
            let error = refusal(file.bytes)
            #expect(error?.description.contains("tensor 't'") == true, "\(ne)")
        }
        // The element count fits but its F32 bytes do not.
        var bytes = GGUFBytes()
        bytes.tensor("t", ne: [1 << 61], type: TypeID.f32, offset: 0)
        bytes.data = [0, 0, 0, 0]
        #expect(refusal(bytes.bytes)?.description.contains("overflows") == true)
    }

    @Test func unknownAndRemovedTypeIdsAreRefused() {
        for (id, words) in [(UInt32(1000), ["unknown", "1000"]), (42, ["unknown", "42"]), (4, ["Q4_2", "removed"]),
                            (5, ["Q4_3", "removed"]), (31, ["Q4_0_4_4", "removed"]), (38, ["IQ4_NL_8_8", "removed"])] {
            var file = GGUFBytes()
            file.tensor("t", ne: [32], type: id, offset: 0)
            file.data = Array(repeating: 0, count: 64)
            let error = refusal(file.bytes)
            #expect(error?.location == .fieldAtOffset("tensor 't' type", 24 + 8 + 1 + 4 + 8))
            for word in words { #expect(error?.description.contains(word) == true, "\(id): \(error?.description ?? "")") }
        }
    }

    @Test func rowLengthMustBeAWholeNumberOfBlocks() throws {
        var file = GGUFBytes()
        file.tensor("q", ne: [16, 2], type: TypeID.q4_0, offset: 0)  // Q4_0 blocks hold 32
        file.data = Array(repeating: 0, count: 18)
        let error = refusal(file.bytes)
        #expect(error?.location == .fieldAtOffset("tensor 'q' ne[0]", 24 + 8 + 1 + 4))
        #expect(error?.description.contains("32") == true)
        // 256 elements per Q4_K block of 144 bytes: ne [512, 3] needs 2 × 3 blocks.
        var ok = GGUFBytes()
        ok.tensor("k", ne: [512, 3], type: TypeID.q4_K, offset: 0)
        ok.data = Array(repeating: 0, count: 6 * 144)
        #expect(try read(ok.bytes).tensors.first?.byteCount == 864)
        // Q8_0: 34 bytes per 32 elements.
        var q8 = GGUFBytes()
        q8.tensor("q", ne: [64], type: TypeID.q8_0, offset: 0)
        q8.data = Array(repeating: 0, count: 68)
        #expect(try read(q8.bytes).tensors.first?.byteCount == 68)
    }

    @Test func duplicateTensorNameIsRefused() {
        var file = GGUFBytes()
        file.tensor("t", ne: [1], type: TypeID.f32, offset: 0)
        file.tensor("t", ne: [1], type: TypeID.f32, offset: 32)
        file.data = Array(repeating: 0, count: 36)
        let error = refusal(file.bytes)
        #expect(error?.description.contains("duplicate tensor name") == true)
        #expect(error?.description.contains("'t'") == true)
    }

    // MARK: Alignment and offsets

    @Test func alignmentMustBeAPowerOfTwo() {
        for bad: UInt32 in [0, 48, 3, 0xFFFF_FFFF] {
            var file = GGUFBytes()
            file.kv("general.alignment", ValueID.uint32) { $0.u32(bad) }
            let error = refusal(file.bytes)
            #expect(error?.location == .field("general.alignment"))
            #expect(error?.description.contains("\(bad)") == true)
        }
        var wrongType = GGUFBytes()
        wrongType.kv("general.alignment", ValueID.uint64) { $0.u64(64) }
        #expect(refusal(wrongType.bytes)?.description.contains("UINT32") == true)
    }

    @Test func customAlignmentPlacesTheData() throws {
        for alignment in [1, 8, 64, 4096] {
            var file = GGUFBytes()
            file.alignment = alignment
            file.kv("general.alignment", ValueID.uint32) { $0.u32(UInt32(alignment)) }
            let second = max(alignment, 4)
            file.tensor("a", ne: [3], type: TypeID.i8, offset: 0)
            file.tensor("b", ne: [1], type: TypeID.f32, offset: UInt64(second))
            var data = Bytes()
            data.raw([1, 2, 3]); while data.count < second { data.u8(0) }; data.f32(0.5)
            file.data = data.bytes
            let model = try read(file.bytes)
            #expect(model.tensor(named: "a")?.offset == file.dataStart, "alignment \(alignment)")
            #expect(model.tensor(named: "b")?.offset == file.dataStart + second, "alignment \(alignment)")
            #expect(try model.tensor(named: "b")?.floatValues() == [0.5], "alignment \(alignment)")
        }
    }

    @Test func misalignedOffsetIsRefused() {
        var file = GGUFBytes()
        file.tensor("t", ne: [1], type: TypeID.f32, offset: 4)
        file.data = Array(repeating: 0, count: 8)
        let error = refusal(file.bytes)
        #expect(error?.location == .field("tensor 't' offset"))
        #expect(error?.description.contains("alignment 32") == true)
    }

    @Test func offsetsPastTheEndOrWrappingAreRefused() {
        // 2^64 − 32 is aligned but beyond any file; 2^63 − 32 plus the size overflows int64.
        for offset: UInt64 in [32, UInt64.max - 31, (1 << 63) - 32, 1 << 62] {
            var file = GGUFBytes()
            file.tensor("t", ne: [8], type: TypeID.f32, offset: offset)
            file.data = Array(repeating: 0, count: 32)
            let error = refusal(file.bytes)
            #expect(error?.location == .field("tensor 't' offset"), "\(offset)")
            #expect(error?.description.contains("past end of file") == true, "\(offset)")
        }
    }

    @Test func overlappingTensorsAreRefused() {
        var file = GGUFBytes()
        file.tensor("a", ne: [16], type: TypeID.f32, offset: 0)   // bytes 0..<64
        file.tensor("b", ne: [8], type: TypeID.f32, offset: 32)   // bytes 32..<64
        file.data = Array(repeating: 0, count: 64)
        let error = refusal(file.bytes)
        #expect(error?.description.contains("overlaps") == true)
        #expect(error?.description.contains("'a'") == true && error?.description.contains("'b'") == true)
        // Listed in the other order, and one tensor inside a large one further away.
        var nested = GGUFBytes()
        nested.tensor("small", ne: [8], type: TypeID.f32, offset: 64)
        nested.tensor("c", ne: [8], type: TypeID.f32, offset: 128)
        nested.tensor("big", ne: [64], type: TypeID.f32, offset: 0)
        nested.data = Array(repeating: 0, count: 256)
        #expect(refusal(nested.bytes)?.description.contains("overlaps") == true)
    }

    // MARK: Metadata values

    @Test func everyValueTypeDecodesToItsJSONValue() throws {
        var file = GGUFBytes()
        file.kv("u8", ValueID.uint8) { $0.u8(200) }
        file.kv("i8", ValueID.int8) { $0.i8(-5) }
        file.kv("u16", ValueID.uint16) { $0.u16(65535) }
        file.kv("i16", ValueID.int16) { $0.i16(-32768) }
        file.kv("u32", ValueID.uint32) { $0.u32(4_294_967_295) }
        file.kv("i32", ValueID.int32) { $0.i32(Int32.min) }
        file.kv("f32", ValueID.float32) { $0.f32(1.5) }
        file.kv("true", ValueID.bool) { $0.u8(1) }
        file.kv("false", ValueID.bool) { $0.u8(0) }
        file.kv("string", ValueID.string) { $0.ggufString("héllo\n\"") }
        file.kv("empty string", ValueID.string) { $0.ggufString("") }
        file.kv("u64", ValueID.uint64) { $0.u64(UInt64.max) }
        file.kv("i64", ValueID.int64) { $0.i64(Int64.min) }
        file.kv("f64", ValueID.float64) { $0.f64(-0.25) }
        file.kv("f32 nan", ValueID.float32) { $0.u32(0x7FC0_0000) }
        file.kv("f64 -inf", ValueID.float64) { $0.u64(0xFFF0_0000_0000_0000) }
        file.kv("bytes", ValueID.array) { $0.u32(ValueID.uint8); $0.u64(3); $0.raw([1, 2, 255]) }
        file.kv("strings", ValueID.array) { $0.u32(ValueID.string); $0.u64(3); $0.ggufString("a"); $0.ggufString(""); $0.ggufString("ü") }
        file.kv("no ints", ValueID.array) { $0.u32(ValueID.int32); $0.u64(0) }
        file.kv("floats", ValueID.array) { $0.u32(ValueID.float32); $0.u64(2); $0.f32(0.5); $0.f32(-.infinity) }
        file.kv("flags", ValueID.array) { $0.u32(ValueID.bool); $0.u64(2); $0.u8(1); $0.u8(0) }
        file.kv("i64s", ValueID.array) { $0.u32(ValueID.int64); $0.u64(2); $0.i64(-1); $0.i64(Int64.max) }
        file.kv("nested", ValueID.array) { bytes in
            bytes.u32(ValueID.array); bytes.u64(2)
            bytes.u32(ValueID.int16); bytes.u64(2); bytes.i16(1); bytes.i16(-2)
            bytes.u32(ValueID.int16); bytes.u64(1); bytes.i16(3)
        }
        let model = try read(file.bytes)
        let expected: [(String, JSONValue, String)] = [
            ("u8", .int(200), "UINT8"), ("i8", .int(-5), "INT8"), ("u16", .int(65535), "UINT16"),
            ("i16", .int(-32768), "INT16"), ("u32", .int(4_294_967_295), "UINT32"), ("i32", .int(Int64(Int32.min)), "INT32"),
            ("f32", .float(1.5), "FLOAT32"), ("true", .bool(true), "BOOL"), ("false", .bool(false), "BOOL"),
            ("string", .string("héllo\n\""), "STRING"), ("empty string", .string(""), "STRING"),
            ("u64", .uint(UInt64.max), "UINT64"), ("i64", .int(Int64.min), "INT64"), ("f64", .double(-0.25), "FLOAT64"),
            ("f32 nan", .float(.nan), "FLOAT32"), ("f64 -inf", .double(-.infinity), "FLOAT64"),
            ("bytes", .array([.int(1), .int(2), .int(255)]), "ARRAY[UINT8]"),
            ("strings", .array([.string("a"), .string(""), .string("ü")]), "ARRAY[STRING]"),
            ("no ints", .array([]), "ARRAY[INT32]"),
            ("floats", .array([.float(0.5), .float(-.infinity)]), "ARRAY[FLOAT32]"),
            ("flags", .array([.bool(true), .bool(false)]), "ARRAY[BOOL]"),
            ("i64s", .array([.int(-1), .int(Int64.max)]), "ARRAY[INT64]"),
            ("nested", .array([.array([.int(1), .int(-2)]), .array([.int(3)])]), "ARRAY[ARRAY[INT16]]"),
        ]
        #expect(model.metadata.count == expected.count)
        for (entry, (key, value, typeName)) in zip(model.metadata, expected) {
            #expect(entry.key == key)
            #expect(entry.value == value, "\(key)")
            #expect(entry.typeName == typeName, "\(key)")
        }
        #expect(model.tensors.isEmpty)
    }

    @Test func valueTruncatedInsideAnArrayIsRefused() {
        var file = GGUFBytes()
        file.kv("ints", ValueID.array) { $0.u32(ValueID.uint32); $0.u64(4); $0.u32(1); $0.u32(2) }
        #expect(refusal(file.bytes)?.description.contains("end of file") == true)
    }
}
