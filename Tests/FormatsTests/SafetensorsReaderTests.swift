import Testing
import Formats
import Tensors

private typealias Scratch = ReaderTestSupport.Scratch

/// safetensors files assembled byte by byte: u64 header length, JSON header, data. The rules
/// are those of huggingface/safetensors (`SafeTensors::read_metadata` / `Metadata::validate`).
@Suite struct SafetensorsReaderTests {
    private let scratch: Scratch

    init() throws { scratch = try Scratch() }

    func read(_ bytes: [UInt8]) throws -> ModelFile {
        try SafetensorsReader.read(try MappedFile.open(try scratch.write(bytes, to: "t.safetensors")))
    }

    func read(header: String, data: [UInt8] = []) throws -> ModelFile {
        try read(ReaderTestSupport.safetensors(header: header, data: data))
    }

    /// The error for a file, which must be a FormatError naming the file.
    func refusal(header: String, data: [UInt8] = []) -> FormatError? {
        let error = #expect(throws: FormatError.self) { try read(header: header, data: data) }
        #expect(error?.path == scratch.file("t.safetensors"))
        return error
    }

    /// The field an error names, with or without the byte offset of its value.
    func field(_ error: FormatError?) -> String? {
        switch error?.location {
        case .field(let name), .fieldAtOffset(let name, _): name
        default: nil
        }
    }

    func refusal(_ bytes: [UInt8]) -> FormatError? {
        #expect(throws: FormatError.self) { try read(bytes) }
    }

    @Test func readsTensorsMetadataAndValues() throws {
        let header = #"{"__metadata__": {"format": "pt", "note": "é"}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "a": {"dtype": "U8", "shape": [1, 3], "data_offsets": [8, 11]}}"#
        let data = ReaderTestSupport.float32Bytes([1.5, -2]) + [7, 8, 255]
        let model = try read(header: header, data: data)
        let dataStart = 8 + header.utf8.count
        #expect(model.format == .safetensors)
        #expect(model.metadata.map(\.key) == ["format", "note"])
        #expect(model.metadata.map(\.value) == [.string("pt"), .string("é")])
        #expect(model.tensors.count == 2)

        let b = try #require(model.tensor(named: "b"))
        #expect(b.type == .scalar(.f32))
        #expect(b.shape == [2])
        #expect(b.offset == dataStart)
        #expect(b.byteCount == 8)
        #expect(try b.floatValues() == [1.5, -2])

        let a = try #require(model.tensor(named: "a"))
        #expect(a.type == .scalar(.u8))
        #expect(a.shape == [1, 3])
        #expect(a.offset == dataStart + 8)
        #expect(try ReaderTestSupport.copy(a) == [7, 8, 255])
        #expect(try a.floatValues() == [7, 8, 255])
    }

    @Test func everyDtypeHasItsByteSize() throws {
        // Sizes from the safetensors format description (Dtype::bitsize / 8).
        let sizes: [(String, Int)] = [("BOOL", 1), ("U8", 1), ("I8", 1), ("U16", 2), ("I16", 2), ("U32", 4), ("I32", 4),
                                      ("U64", 8), ("I64", 8), ("F16", 2), ("BF16", 2), ("F32", 4), ("F64", 8),
                                      ("F8_E4M3", 1), ("F8_E5M2", 1)]
        for (dtype, size) in sizes {
            let fits = #"{"x": {"dtype": "\#(dtype)", "shape": [3], "data_offsets": [0, \#(3 * size)]}}"#
            let model = try read(header: fits, data: Array(repeating: 0, count: 3 * size))
            #expect(model.tensors.first?.type.description == dtype)
            #expect(model.tensors.first?.byteCount == 3 * size)
            let off = #"{"x": {"dtype": "\#(dtype)", "shape": [3], "data_offsets": [0, \#(3 * size + 1)]}}"#
            #expect(refusal(header: off, data: Array(repeating: 0, count: 3 * size + 1)) != nil, "\(dtype)")
        }
    }

    @Test func zeroDimensionalAndEmptyTensorsAreAccepted() throws {
        let header = #"{"scalar": {"dtype": "F64", "shape": [], "data_offsets": [0, 8]}, "empty": {"dtype": "F32", "shape": [0, 4], "data_offsets": [8, 8]}, "none": {"dtype": "I64", "shape": [5, 0], "data_offsets": [8, 8]}}"#
        var data = ReaderTestSupport.Bytes()
        data.f64(2.5)
        let model = try read(header: header, data: data.bytes)
        let scalar = try #require(model.tensor(named: "scalar"))
        #expect(scalar.shape == [])
        #expect(scalar.elementCount == 1)
        #expect(try scalar.floatValues() == [2.5])
        let empty = try #require(model.tensor(named: "empty"))
        #expect(empty.shape == [0, 4])
        #expect(empty.byteCount == 0)
        #expect(try empty.floatValues() == [])
        #expect(model.tensor(named: "none")?.shape == [5, 0])
    }

    @Test func emptyHeaderAndOnlyEmptyTensors() throws {
        #expect(try read(header: "{}").tensors.isEmpty)
        #expect(try read(header: #"{"e": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}"#).tensors.count == 1)
    }

    @Test func surroundingWhitespaceInTheHeaderIsAccepted() throws {
        // The reference writer pads the header with spaces to a multiple of 8.
        let model = try read(header: "  \n{\"a\": {\"dtype\": \"I8\", \"shape\": [2], \"data_offsets\": [0, 2]}}   ", data: [0xFF, 1])
        #expect(try model.tensors.first?.floatValues() == [-1, 1])
    }

    // MARK: Header length and placement

    @Test func headerLengthAboveOneHundredMegabytesIsRefused() {
        for length: UInt64 in [100_000_001, UInt64(Int64.max), UInt64.max] {
            var bytes = ReaderTestSupport.Bytes()
            bytes.u64(length)
            bytes.raw(Array("{}".utf8))
            let error = refusal(bytes.bytes)
            #expect(error?.description.contains("100 MB") == true)
            #expect(error?.location == .fieldAtOffset("header length", 0))
        }
    }

    @Test func headerPastTheEndIsRefused() {
        var bytes = ReaderTestSupport.Bytes()
        bytes.u64(100_000_000)  // within the limit, but the file is tiny
        bytes.raw(Array("{}".utf8))
        #expect(refusal(bytes.bytes)?.description.contains("past end of file") == true)

        var short = ReaderTestSupport.Bytes()
        short.u64(30)
        short.raw(Array(#"{"a": {"dtype": "F32"#.utf8))
        let error = refusal(short.bytes)
        #expect(error?.description.contains("header length 30") == true)
    }

    @Test func fileShorterThanTheLengthFieldIsRefused() {
        for count in 0..<8 {
            #expect(refusal(Array(repeating: 2, count: count))?.description.contains("end of file") == true)
        }
    }

    @Test func headerThatIsNotAJSONObjectIsRefused() {
        let notJSON = refusal(header: "{\"a\": ")
        #expect(notJSON?.description.contains("header") == true)
        #expect(refusal(header: "[1, 2]")?.description.contains("must be a JSON object") == true)
        #expect(refusal(header: "{} trailing")?.location == .offset(8 + 3))
        #expect(refusal(header: #"{"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},}"#, data: [0]) != nil)
    }

    // MARK: Offsets

    @Test func holeBetweenTensorsIsRefused() {
        let header = #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}"#
        let error = refusal(header: header, data: Array(repeating: 0, count: 12))
        #expect(field(error) == "tensor 'b' data_offsets")
        #expect(error?.description.contains("hole") == true)
    }

    @Test func holeBeforeTheFirstTensorIsRefused() {
        let header = #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#
        #expect(refusal(header: header, data: Array(repeating: 0, count: 8))?.description.contains("hole") == true)
    }

    @Test func overlappingTensorsAreRefused() {
        let header = #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#
        let error = refusal(header: header, data: Array(repeating: 0, count: 8))
        #expect(field(error) == "tensor 'b' data_offsets")
        #expect(error?.description.contains("overlaps") == true)
        // The same span twice.
        let twice = #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "I32", "shape": [1], "data_offsets": [0, 4]}}"#
        #expect(refusal(header: twice, data: Array(repeating: 0, count: 4))?.description.contains("overlaps") == true)
    }

    @Test func trailingBytesAfterTheLastTensorAreRefused() {
        let header = #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#
        let error = refusal(header: header, data: Array(repeating: 0, count: 6))
        #expect(error?.description.contains("2 trailing bytes") == true)
        #expect(error?.location == .offset(8 + header.utf8.count + 4))
        // No tensors at all but data after the header.
        #expect(refusal(header: "{}", data: [0])?.description.contains("trailing") == true)
    }

    @Test func dataShorterThanTheTensorsIsRefused() {
        let header = #"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#
        let error = refusal(header: header, data: Array(repeating: 0, count: 10))
        #expect(error?.description.contains("end of file") == true)
    }

    @Test func offsetsThatAreNotAnOrderedPairAreRefused() {
        let cases: [(String, String)] = [
            (#"[4, 0]"#, "after end"), (#"[0]"#, "pair"), (#"[0, 4, 8]"#, "pair"), (#""0,4""#, "pair"),
            (#"[-4, 0]"#, "non-negative"), (#"[0, 18446744073709551615]"#, "non-negative"), (#"[0, 4.0]"#, "non-negative"),
        ]
        for (offsets, word) in cases {
            let header = #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": \#(offsets)}}"#
            let error = refusal(header: header, data: Array(repeating: 0, count: 4))
            #expect(field(error) == "tensor 'a' data_offsets", "\(offsets)")
            #expect(error?.description.contains(word) == true, "\(offsets): \(error?.description ?? "")")
        }
    }

    // MARK: Shapes and dtypes

    @Test func shapeTimesDtypeMustEqualTheSpan() {
        let header = #"{"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}"#
        let error = refusal(header: header, data: Array(repeating: 0, count: 8))
        #expect(field(error) == "tensor 'a' data_offsets")
        #expect(error?.description.contains("needs 12") == true)
    }

    @Test func shapeSizesThatOverflowAreRefused() throws {
        // 2^62 × 4 elements overflows the element count; 2^61 F32 elements overflow the bytes.
        for shape in ["[4611686018427387904, 4]", "[2305843009213693952]", "[4294967296, 4294967296, 4294967296]"] {
            let header = #"{"a": {"dtype": "F32", "shape": \#(shape), "data_offsets": [0, 0]}}"#
            let error = refusal(header: header)
            #expect(field(error) == "tensor 'a' shape", "\(shape)")
            #expect(error?.description.contains("overflows") == true, "\(shape)")
        }
        // A zero anywhere makes the product zero, however large the other dimensions.
        let zero = #"{"a": {"dtype": "F32", "shape": [9223372036854775807, 0], "data_offsets": [0, 0]}}"#
        #expect(try read(header: zero).tensors.first?.byteCount == 0)
    }

    @Test func dimensionsMustBeNonNegativeIntegers() {
        for dim in ["-1", "1.5", "\"2\"", "null", "18446744073709551615"] {
            let header = #"{"a": {"dtype": "U8", "shape": [\#(dim)], "data_offsets": [0, 1]}}"#
            let error = refusal(header: header, data: [0])
            #expect(field(error) == "tensor 'a' shape", "\(dim)")
        }
        let missing = #"{"a": {"dtype": "U8", "data_offsets": [0, 1]}}"#
        #expect(field(refusal(header: missing, data: [0])) == "tensor 'a' shape")
    }

    @Test func unknownDtypeIsRefused() {
        let header = #"{"a": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}}"#
        let error = refusal(header: header, data: [0, 0, 0, 0])
        #expect(field(error) == "tensor 'a' dtype")
        #expect(error?.description.contains("'F33'") == true)
        // dtype names are case-sensitive, and must be strings.
        #expect(field(refusal(header: #"{"a": {"dtype": "f32", "shape": [1], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0])) == "tensor 'a' dtype")
        #expect(field(refusal(header: #"{"a": {"dtype": 7, "shape": [1], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0])) == "tensor 'a' dtype")
    }

    @Test func tensorInfoMustBeAnObject() {
        #expect(refusal(header: #"{"a": [1, 2]}"#)?.description.contains("tensor 'a'") == true)
    }

    @Test func duplicateNamesAreRefused() {
        let header = #"{"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "w": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}"#
        let error = refusal(header: header, data: [0, 0])
        #expect(error?.description.contains("'w'") == true)
        #expect(error?.description.contains("more than once") == true)
        #expect(error?.location == .fieldAtOffset("header", 8 + 61))
    }

    // MARK: __metadata__

    @Test func metadataValuesMustBeStrings() {
        let number = #"{"__metadata__": {"ok": "x", "n": 1}}"#
        let error = refusal(header: number)
        #expect(field(error) == "__metadata__.n")
        // The offset is the value's own, counted from the start of the file.
        #expect(error?.location == .fieldAtOffset("__metadata__.n", 8 + 34))
        #expect(error?.description.contains("must be a string") == true)
        #expect(field(refusal(header: #"{"__metadata__": {"nested": {"a": "b"}}}"#)) == "__metadata__.nested")
        #expect(field(refusal(header: #"{"__metadata__": ["a"]}"#)) == "__metadata__")
        #expect(field(refusal(header: #"{"__metadata__": "a"}"#)) == "__metadata__")
    }

    @Test func nullMetadataMeansNone() throws {
        // safetensors 0.8.0 (`safetensors.numpy.load`) reads `"__metadata__": null` as no metadata.
        let model = try read(header: #"{"__metadata__": null, "a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}"#, data: [3])
        #expect(model.metadata.isEmpty)
        #expect(model.tensors.map(\.name) == ["a"])
    }

    @Test func everyTruncationOfAValidFileIsRefused() throws {
        let header = #"{"__metadata__": {"k": "v"}, "a": {"dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]}, "b": {"dtype": "BF16", "shape": [1], "data_offsets": [8, 10]}}"#
        let bytes = ReaderTestSupport.safetensors(header: header, data: Array(0..<10))
        #expect(try read(bytes).tensors.count == 2)
        for cut in 0..<bytes.count {
            #expect(throws: FormatError.self, "prefix of \(cut) bytes") { try read(Array(bytes[..<cut])) }
        }
    }
}
