import Testing
import Formats
import Tensors

private typealias Scratch = ReaderTestSupport.Scratch
private typealias Bytes = ReaderTestSupport.Bytes

/// .npy files written by numpy (the oracle for the format) from values listed here, read by
/// NpyReader; and NpyWriter's files loaded by numpy.
@Suite struct NpyTests {
    /// Writes one .npy per entry with numpy; names match the cases below.
    static let writerScript = """
    import sys
    import numpy as np
    d = sys.argv[1]
    def save(name, a):
        np.save(d + "/" + name + ".npy", a)
    save("f4", np.array([[1.5, -2.0, 0.0], [3.25, -0.0, np.inf]], dtype="<f4"))
    save("f8", np.array([1e-300, -2.5, 0.1], dtype="<f8"))
    save("f2", np.array([0.5, -1.0, 65504.0, 2.0 ** -24], dtype="<f2"))
    save("i1", np.array([-128, 127, 0], dtype="i1"))
    save("u1", np.array([0, 255], dtype="u1"))
    save("i2", np.array([-32768, 32767], dtype="<i2"))
    save("u2", np.array([65535, 1], dtype="<u2"))
    save("i4", np.array([-2147483648, 7], dtype="<i4"))
    save("u4", np.array([4294967295], dtype="<u4"))
    save("i8", np.array([-9223372036854775808, 5], dtype="<i8"))
    save("u8", np.array([18446744073709551615, 3], dtype="<u8"))
    save("b1", np.array([True, False, True]))
    save("scalar", np.array(7.0, dtype="<f4"))
    save("empty", np.zeros((0, 3), dtype="<f4"))
    save("three_d", np.arange(6, dtype="<f4").reshape(2, 1, 3))
    save("fortran", np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)))
    save("big_endian", np.array([1.0], dtype=">f4"))
    save("unicode", np.array(["ab"]))
    for version in [(2, 0), (3, 0)]:
        with open(d + "/v%d.npy" % version[0], "wb") as f:
            np.lib.format.write_array(f, np.array([1.0, 2.0], dtype="<f4"), version=version)
    """

    struct Case {
        var name: String
        var type: ScalarType
        var shape: [Int]
        var data: [UInt8]
        var floats: [Float]
    }

    /// The expected element bytes, built from the same literal values as the script.
    static let cases: [Case] = {
        func bytes(_ build: (inout Bytes) -> Void) -> [UInt8] { var b = Bytes(); build(&b); return b.bytes }
        return [
            Case(name: "f4", type: .f32, shape: [2, 3], data: bytes { for v: Float in [1.5, -2, 0, 3.25, -0.0, .infinity] { $0.f32(v) } },
                 floats: [1.5, -2, 0, 3.25, -0.0, .infinity]),
            Case(name: "f8", type: .f64, shape: [3], data: bytes { for v in [1e-300, -2.5, 0.1] { $0.f64(v) } },
                 floats: [Float(1e-300 as Double), -2.5, Float(0.1 as Double)]),
            // fp16 bit patterns: 0.5, -1, 65504 (largest finite), 2^-24 (smallest subnormal).
            Case(name: "f2", type: .f16, shape: [4], data: bytes { for h: UInt16 in [0x3800, 0xBC00, 0x7BFF, 0x0001] { $0.u16(h) } },
                 floats: [0.5, -1, 65504, 0x1p-24]),
            Case(name: "i1", type: .i8, shape: [3], data: [0x80, 0x7F, 0x00], floats: [-128, 127, 0]),
            Case(name: "u1", type: .u8, shape: [2], data: [0, 255], floats: [0, 255]),
            Case(name: "i2", type: .i16, shape: [2], data: [0x00, 0x80, 0xFF, 0x7F], floats: [-32768, 32767]),
            Case(name: "u2", type: .u16, shape: [2], data: [0xFF, 0xFF, 0x01, 0x00], floats: [65535, 1]),
            Case(name: "i4", type: .i32, shape: [2], data: bytes { $0.i32(Int32.min); $0.i32(7) }, floats: [-2_147_483_648, 7]),
            Case(name: "u4", type: .u32, shape: [1], data: [0xFF, 0xFF, 0xFF, 0xFF], floats: [4_294_967_295]),
            Case(name: "i8", type: .i64, shape: [2], data: bytes { $0.i64(Int64.min); $0.i64(5) }, floats: [-0x1p63, 5]),
            Case(name: "u8", type: .u64, shape: [2], data: bytes { $0.u64(UInt64.max); $0.u64(3) }, floats: [0x1p64, 3]),
            Case(name: "b1", type: .bool, shape: [3], data: [1, 0, 1], floats: [1, 0, 1]),
            Case(name: "scalar", type: .f32, shape: [], data: bytes { $0.f32(7) }, floats: [7]),
            Case(name: "empty", type: .f32, shape: [0, 3], data: [], floats: []),
            Case(name: "three_d", type: .f32, shape: [2, 1, 3], data: bytes { for v in 0..<6 { $0.f32(Float(v)) } }, floats: [0, 1, 2, 3, 4, 5]),
            Case(name: "v2", type: .f32, shape: [2], data: bytes { $0.f32(1); $0.f32(2) }, floats: [1, 2]),
            Case(name: "v3", type: .f32, shape: [2], data: bytes { $0.f32(1); $0.f32(2) }, floats: [1, 2]),
        ]
    }()

    @Test func readsWhatNumpyWrites() throws {
        let scratch = try Scratch()
        guard try ReaderTestSupport.python(Self.writerScript, [scratch.path]) != nil else { return }
        for expected in Self.cases {
            let array = try NpyReader.read(scratch.file(expected.name + ".npy"))
            #expect(array.elementType == expected.type, "\(expected.name)")
            #expect(array.shape == expected.shape, "\(expected.name)")
            #expect(array.data == expected.data, "\(expected.name)")
            let floats = try array.floatValues()
            #expect(floats.map(\.bitPattern) == expected.floats.map(\.bitPattern), "\(expected.name): \(floats)")
        }
    }

    @Test func refusesWhatItCannotRead() throws {
        let scratch = try Scratch()
        guard try ReaderTestSupport.python(Self.writerScript, [scratch.path]) != nil else { return }
        for (name, word) in [("fortran", "Fortran"), ("big_endian", ">f4"), ("unicode", "<U2")] {
            let path = scratch.file(name + ".npy")
            let error = #expect(throws: FormatError.self) { try NpyReader.read(path) }
            #expect(error?.path == path)
            #expect(error?.description.contains(word) == true, "\(name): \(error?.description ?? "")")
        }
        // Every truncation of a numpy file, and one byte too many.
        let whole = try scratch.read("f4.npy")
        for cut in 0..<whole.count {
            let path = try scratch.write(Array(whole[..<cut]), to: "cut.npy")
            #expect(throws: FormatError.self, "prefix of \(cut) bytes") { try NpyReader.read(path) }
        }
        let longer = try scratch.write(whole + [0], to: "long.npy")
        #expect(#expect(throws: FormatError.self) { try NpyReader.read(longer) }?.description.contains("needs 24") == true)
        var badMagic = whole
        badMagic[1] = UInt8(ascii: "X")
        let bad = try scratch.write(badMagic, to: "magic.npy")
        #expect(#expect(throws: FormatError.self) { try NpyReader.read(bad) }?.description.contains("magic") == true)
    }

    /// Loads each file with numpy and prints, per file: dtype, shape, header end, whether
    /// numpy.save of the loaded array writes the same bytes, and the values' uint32 bit patterns.
    static let loaderScript = """
    import io, json, sys
    import numpy as np
    out = []
    for path in sys.argv[1:]:
        a = np.load(path, allow_pickle=False, max_header_size=1 << 24)
        with open(path, "rb") as f:
            major, minor = np.lib.format.read_magic(f)
            size = 2 if major == 1 else 4
            data_offset = 8 + size + int.from_bytes(f.read(size), "little")
        with open(path, "rb") as f:
            ours = f.read()
        theirs = io.BytesIO()
        np.save(theirs, a)
        out.append({"dtype": a.dtype.str, "shape": list(a.shape), "version": major, "data_offset": data_offset,
                    "same_as_np_save": ours == theirs.getvalue(),
                    "bits": [int(b) for b in a.reshape(-1).view("<u4")]})
    print(json.dumps(out))
    """

    @Test func numpyLoadsWhatNpyWriterWrites() throws {
        let scratch = try Scratch()
        let values: [Float] = [1.5, -0.0, .nan, .infinity, -.infinity, .leastNonzeroMagnitude, -3e38, 0.1, 1e-20, 42, -1, 0x1p-126]
        let cases: [(String, [Int], [Float])] = [
            ("vector", [12], values), ("matrix", [3, 4], values), ("cube", [2, 1, 6], values),
            ("scalar", [], [2.5]), ("empty", [0], []), ("empty-2d", [4, 0], []),
            ("long-shape", [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2], [1, 2]),
        ]
        for (name, shape, floats) in cases {
            try NpyWriter.write(float32: floats, shape: shape, to: scratch.file(name + ".npy"), replace: false)
        }
        guard let output = try ReaderTestSupport.python(Self.loaderScript, cases.map { scratch.file($0.0 + ".npy") }) else { return }
        let loaded = try #require(try JSONParser.parse(output).arrayValue)
        #expect(loaded.count == cases.count)
        for ((name, shape, floats), result) in zip(cases, loaded) {
            #expect(result["dtype"] == .string("<f4"), "\(name)")
            #expect(result["shape"] == .array(shape.map { .int(Int64($0)) }), "\(name)")
            #expect(result["version"] == .int(1), "\(name)")
            // numpy aligns the data to 64 bytes and expects writers to do the same.
            #expect((result["data_offset"]?.nonNegativeInt ?? 1) % 64 == 0, "\(name)")
            #expect(result["same_as_np_save"] == .bool(true), "\(name): not byte-identical to numpy.save of the same array")
            #expect(result["bits"] == .array(floats.map { .int(Int64($0.bitPattern)) }), "\(name)")
        }
    }

    /// A header past 65535 bytes (22000 dims) needs format 2.0, whose length field is 32 bits
    /// (issue 7: this trapped in UInt16(...)). numpy cannot make such an array (at most 64
    /// dims), but its header parser is the oracle for the header, and our reader reads it back.
    @Test func hugeHeaderIsWrittenInFormat2() throws {
        let scratch = try Scratch()
        let shape = [Int](repeating: 1, count: 22000)
        let path = scratch.file("huge.npy")
        try NpyWriter.write(float32: [7], shape: shape, to: path, replace: false)
        let back = try NpyReader.read(path)
        #expect(back.shape == shape)
        #expect(back.data == Array(withUnsafeBytes(of: Float(7).bitPattern.littleEndian) { Array($0) }))
        let script = """
        import json, sys
        import numpy as np
        with open(sys.argv[1], "rb") as f:
            version = np.lib.format.read_magic(f)
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=1 << 24)
            offset = f.tell()
        print(json.dumps({"version": list(version), "rank": len(shape), "ones": all(d == 1 for d in shape), "dtype": dtype.str, "offset": offset}))
        """
        guard let output = try ReaderTestSupport.python(script, [path]) else { return }
        let parsed = try JSONParser.parse(output)
        #expect(parsed["version"] == .array([.int(2), .int(0)]))
        #expect(parsed["rank"] == .int(22000))
        #expect(parsed["ones"] == .bool(true))
        #expect(parsed["dtype"] == .string("<f4"))
        #expect((parsed["offset"]?.nonNegativeInt ?? 1) % 64 == 0)
    }

    @Test func writerRefusesToReplaceUnlessAsked() throws {
        let scratch = try Scratch()
        let path = scratch.file("out.npy")
        try NpyWriter.write(float32: [1], shape: [1], to: path, replace: false)
        let before = try scratch.read("out.npy")
        let error = #expect(throws: FormatError.self) { try NpyWriter.write(float32: [2, 3], shape: [2], to: path, replace: false) }
        #expect(error?.description.contains("already exists") == true)
        #expect(try scratch.read("out.npy") == before)
        try NpyWriter.write(float32: [2, 3], shape: [2], to: path, replace: true)
        #expect(try scratch.read("out.npy") != before)
        #expect(try scratch.contents() == ["out.npy"])
    }

    @Test func headerMatchesTheFormatDescription() throws {
        // numpy/lib/format.py: magic, version 1.0, u16 header length, a dict literal, padding
        // spaces and a newline so that the whole preamble is a multiple of 64 bytes.
        let header = try NpyWriter.header(float32Shape: [2, 3])
        let text = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
        #expect(header.count == 128)
        #expect(Array(header[0..<8]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        #expect(Int(header[8]) | Int(header[9]) << 8 == 118)
        #expect(Array(header[10..<(10 + text.utf8.count)]) == Array(text.utf8))
        #expect(header[(10 + text.utf8.count)..<127].allSatisfy { $0 == 0x20 })
        #expect(header[127] == 0x0A)
        // One dimension is a one-element tuple, with its trailing comma.
        #expect(String(decoding: try NpyWriter.header(float32Shape: [5]), as: UTF8.self).contains("'shape': (5,)"))
        #expect(String(decoding: try NpyWriter.header(float32Shape: []), as: UTF8.self).contains("'shape': ()"))
    }
}
