import Testing
import Formats

private typealias Scratch = ReaderTestSupport.Scratch

@Suite struct ByteCursorTests {
    /// Values at odd offsets, the bytes of each written out by hand in little-endian order.
    static let bytes: [UInt8] = [
        0xAB,                                            // 0: u8 0xAB
        0x34, 0x12,                                      // 1: u16 0x1234
        0x78, 0x56, 0x34, 0x12,                          // 3: u32 0x12345678
        0xEF, 0xCD, 0xAB, 0x89, 0x67, 0x45, 0x23, 0x01,  // 7: u64 0x0123456789ABCDEF
        0xFE, 0xFF,                                      // 15: i16 -2
        0x00, 0x00, 0xC0, 0x3F,                          // 17: f32 1.5 (0x3FC00000)
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0,  // 21: f64 -2.0 (0xC000000000000000)
        0x80,                                            // 29: i8 -128
        0xFF, 0xFF, 0xFF, 0x7F,                          // 30: i32 Int32.max
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80,  // 34: i64 Int64.min
    ]

    @Test func littleEndianReadsAtUnalignedOffsets() throws {
        let scratch = try Scratch()
        let file = try MappedFile.open(try scratch.write(Self.bytes, to: "values"))
        var cursor = file.cursor()
        #expect(try cursor.u8("a") == 0xAB)
        #expect(try cursor.u16("b") == 0x1234)
        #expect(try cursor.u32("c") == 0x1234_5678)
        #expect(try cursor.u64("d") == 0x0123_4567_89AB_CDEF)
        #expect(try cursor.i16("e") == -2)
        #expect(try cursor.f32("f") == 1.5)
        #expect(try cursor.f64("g") == -2.0)
        #expect(try cursor.i8("h") == -128)
        #expect(try cursor.i32("i") == Int32.max)
        #expect(try cursor.i64("j") == Int64.min)
        #expect(cursor.offset == 42)
        #expect(cursor.remaining == 0)
    }

    @Test func cursorStartsWhereAsked() throws {
        let scratch = try Scratch()
        let file = try MappedFile.open(try scratch.write(Self.bytes, to: "values"))
        var cursor = file.cursor(at: 3)
        #expect(try cursor.u32("c") == 0x1234_5678)
        try cursor.skip(to: 17)
        #expect(try cursor.f32("f") == 1.5)
        let taken = try cursor.take(3, "three")
        #expect(Array(taken) == [0x00, 0x00, 0x00])
        #expect(cursor.offset == 24)
    }

    @Test func readsPastTheEndThrowAtTheirOffset() throws {
        let scratch = try Scratch()
        let file = try MappedFile.open(try scratch.write([1, 2, 3, 4, 5], to: "five"))
        var cursor = file.cursor(at: 2)
        let error = #expect(throws: FormatError.self) { try cursor.u32("tensor count") }
        #expect(error?.location == .offset(2))
        #expect(error?.description.contains("end of file") == true)
        #expect(error?.description.contains("tensor count") == true)
        // A failed read consumes nothing.
        #expect(cursor.offset == 2)
        #expect(try cursor.u16("pair") == 0x0403)
        #expect(throws: FormatError.self) { try cursor.u16("pair") }
        #expect(try cursor.u8("last") == 5)
        let atEnd = #expect(throws: FormatError.self) { try cursor.u8("one more") }
        #expect(atEnd?.description.contains("end of file") == true)
        #expect(atEnd?.location == .offset(5))
    }

    @Test func impossibleCountsAndOffsetsThrow() throws {
        let scratch = try Scratch()
        let file = try MappedFile.open(try scratch.write([1, 2, 3, 4, 5], to: "five"))
        var cursor = file.cursor()
        #expect(throws: FormatError.self) { try cursor.take(-1, "negative") }
        #expect(throws: FormatError.self) { try cursor.take(Int.max, "huge") }
        #expect(throws: FormatError.self) { try cursor.skip(to: 6) }
        #expect(throws: FormatError.self) { try cursor.skip(to: -1) }
        try cursor.skip(to: 5)
        #expect(cursor.remaining == 0)
        #expect(try cursor.take(0, "nothing").count == 0)
        #expect(throws: FormatError.self) { try cursor.u8("past") }
        // A cursor placed beyond the end reports no bytes left rather than a negative count.
        var beyond = file.cursor(at: 9)
        #expect(beyond.remaining == 0)
        #expect(throws: FormatError.self) { try beyond.u8("past") }
    }

    @Test func emptyFileHasNothingToRead() throws {
        let scratch = try Scratch()
        let file = try MappedFile.open(try scratch.write([], to: "empty"))
        var cursor = file.cursor()
        let error = #expect(throws: FormatError.self) { try cursor.u64("header length") }
        #expect(error?.description.contains("end of file") == true)
    }
}
