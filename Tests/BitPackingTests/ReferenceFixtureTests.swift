import Tensors
import BitPacking
import Formats
import Testing

/// The cases tools/bitpack_reference.py computed with numpy from DESIGN.md's formulas:
/// planes, codes, scales and integer parts must match bit for bit, outputs to float32
/// rounding (and, since both follow the same documented float64 order, bit for bit).
@Suite struct ReferenceFixtureTests {
    struct Case {
        var name: String
        var mode: ConversionMode
        var n: Int, k: Int, m: Int
        var rowStrideWords: Int
        var tookTernaryCodesAsGiven: Bool
        var hasOutScale: Bool, hasBias: Bool
        var folder: String

        func npy(_ file: String) throws -> NpyArray { try NpyReader.read(folder + "/" + file + ".npy") }
        func floats(_ file: String) throws -> [Float] { try npy(file).floatValues() }
    }

    static func loadCases() throws -> (floorBits: UInt32, cases: [Case]) {
        let file = try MappedFile.open(fixtureFolder + "/cases.json")
        let manifest = try JSONParser.parse(try file.bytes(in: 0..<file.size))
        let floorBits = UInt32(try #require(manifest["scale_floor_bits"]?.nonNegativeInt))
        let entries = try #require(manifest["cases"]?.arrayValue)
        let cases = try entries.map { entry -> Case in
            let name = try #require(entry["name"]?.stringValue)
            return Case(
                name: name,
                mode: try #require(ConversionMode(rawValue: entry["mode"]?.stringValue ?? "")),
                n: try #require(entry["n"]?.nonNegativeInt), k: try #require(entry["k"]?.nonNegativeInt),
                m: try #require(entry["m"]?.nonNegativeInt),
                rowStrideWords: try #require(entry["row_stride_words"]?.nonNegativeInt),
                tookTernaryCodesAsGiven: entry["took_ternary_codes_as_given"] == .bool(true),
                hasOutScale: entry["out_scale"] == .bool(true), hasBias: entry["bias"] == .bool(true),
                folder: fixtureFolder + "/" + name)
        }
        return (floorBits, cases)
    }

    @Test func manifestCoversTheModesAndTheEdges() throws {
        let (floorBits, cases) = try Self.loadCases()
        #expect(Numerics.scaleFloor.bitPattern == floorBits)
        for mode in ConversionMode.allCases {
            #expect(cases.filter { $0.mode == mode }.count >= 15, "\(mode)")
        }
        let ks = Set(cases.map(\.k))
        #expect(ks.isSuperset(of: [1, 63, 64, 65, 100, 512, 513]))
        #expect(cases.contains { $0.tookTernaryCodesAsGiven })
        #expect(cases.contains { $0.hasOutScale } && cases.contains { $0.hasBias })
        #expect(cases.contains { $0.m > 1 && $0.n > 1 })
    }

    /// On every packing path (the C packers of each instruction set, rows split over a pool).
    @Test func packedWeightsMatchNumpy() throws {
        for c in try Self.loadCases().cases {
            for dispatch in kernelDispatches {
                try expectPackedWeights(c, dispatch: dispatch)
            }
        }
    }

    private func expectPackedWeights(_ c: Case, dispatch: KernelDispatch) throws {
        do {
            let packed = try PackedWeights.pack(try c.floats("W"), n: c.n, k: c.k, mode: c.mode.weightMode, dispatch: dispatch)
            #expect(packed.rowStrideWords == c.rowStrideWords, "\(c.name)")
            let expectedPlanes = npyValues(try c.npy("weight_planes"), as: UInt64.self)
            let planeWords = c.n * c.rowStrideWords
            for plane in 0..<c.mode.weightMode.planeCount {
                let expected = Array(expectedPlanes[(plane * planeWords)..<((plane + 1) * planeWords)])
                #expect(packed.planeWords(plane) == expected, "\(c.name) plane \(plane)")
            }
            #expect(sameBits(packed.scales, try c.floats("weight_scales")), "\(c.name)")
            #expect(packed.tookTernaryCodesAsGiven == c.tookTernaryCodesAsGiven, "\(c.name) \(dispatch.isa)")
        }
    }

    @Test func packedActivationsMatchNumpy() throws {
        var activations = PackedActivations()
        for c in try Self.loadCases().cases {
            let mode = c.mode.activationMode
            try activations.pack(try c.floats("x"), rows: c.m, k: c.k, mode: mode)
            let expectedPlanes = npyValues(try c.npy("act_planes"), as: UInt64.self)
            let expectedScales = try c.floats("act_scales")
            for row in 0..<c.m {
                for plane in 0..<mode.planeCount {
                    let start = (row * mode.planeCount + plane) * c.rowStrideWords
                    let expected = Array(expectedPlanes[start..<(start + c.rowStrideWords)])
                    #expect(activations.planeWords(row: row, plane: plane) == expected, "\(c.name) row \(row) plane \(plane)")
                }
                #expect(sameBits([activations.scale(row: row)], [expectedScales[row]]), "\(c.name) row \(row)")
                #expect(activations.isFinite(row: row) == !expectedScales[row].isNaN, "\(c.name) row \(row)")
            }
        }
    }

    @Test func kernelsMatchNumpy() throws {
        var activations = PackedActivations()
        for c in try Self.loadCases().cases {
            let packed = try PackedWeights.pack(try c.floats("W"), n: c.n, k: c.k, mode: c.mode.weightMode)
            try activations.pack(try c.floats("x"), rows: c.m, k: c.k, mode: c.mode.activationMode)
            let expectedIntegers = npyValues(try c.npy("int"), as: Int64.self)
            #expect(try PopcountGemm.integerParts(weights: packed, activations: activations) == expectedIntegers, "\(c.name)")

            let transform = try Self.transform(c)
            var y = [Float](repeating: 0, count: c.m * c.n)
            try PopcountGemm.run(weights: packed, activations: activations, transform: transform, into: &y)
            let expected = try c.floats("y")
            #expect(withinTolerance(y, expected), "\(c.name)")
            #expect(sameBits(y, expected), "\(c.name): \(y) vs \(expected)")
        }
    }

    @Test func simulatedReferenceMatchesNumpy() throws {
        for c in try Self.loadCases().cases {
            let weights = try QuantizedMatrix.roundToNearest(try c.floats("W"), n: c.n, k: c.k, format: c.mode.weightMode.format)
            #expect(weights.codes[0] == npyValues(try c.npy("weight_codes"), as: Int8.self), "\(c.name)")
            #expect(sameBits(weights.scales, try c.floats("weight_scales")), "\(c.name)")
            
            let activations = try QuantizedActivations.quantize(try c.floats("x"), rows: c.m, k: c.k, mode: c.mode.activationMode)
            #expect(activations.codes == npyValues(try c.npy("act_codes"), as: Int8.self), "\(c.name)")
            #expect(sameBits(activations.scales, try c.floats("act_scales")), "\(c.name)")

            #expect(try SimulatedReference.integerParts(weights: weights, activations: activations)
                == npyValues(try c.npy("int"), as: Int64.self), "\(c.name)")
            let y = try SimulatedReference.gemm(weights: weights, activations: activations, transform: try Self.transform(c))
            let expected = try c.floats("y")
            #expect(withinTolerance(y, expected), "\(c.name)")
            #expect(sameBits(y, expected), "\(c.name)")
        }
    }

    /// The loader's path: planes and scales wrapped in place from a mapped file (here the
    /// data sections of the fixture's .npy files), no copy.
    @Test func zeroCopyWeightsFromMappedFiles() throws {
        var activations = PackedActivations()
        for c in try Self.loadCases().cases {
            let planesFile = try MappedFile.open(c.folder + "/weight_planes.npy")
            let scalesFile = try MappedFile.open(c.folder + "/weight_scales.npy")
            let planeBytes = c.n * c.rowStrideWords * 8
            let planesStart = try Self.npyDataOffset(planesFile)
            let planes = try (0..<c.mode.weightMode.planeCount).map {
                try planesFile.bytes(in: (planesStart + $0 * planeBytes)..<(planesStart + ($0 + 1) * planeBytes))
            }
            let scalesStart = try Self.npyDataOffset(scalesFile)
            let scales = try scalesFile.bytes(in: scalesStart..<scalesFile.size)
            let packed = try PackedWeights(mode: c.mode.weightMode, n: c.n, k: c.k, planes: planes, scales: scales, owner: planesFile)
            packed.withPlaneBytes(0) { #expect($0.baseAddress == planes[0].baseAddress, "\(c.name): not zero-copy") }

            try activations.pack(try c.floats("x"), rows: c.m, k: c.k, mode: c.mode.activationMode)
            var y = [Float](repeating: 0, count: c.m * c.n)
            try PopcountGemm.run(weights: packed, activations: activations, transform: try Self.transform(c), into: &y)
            #expect(sameBits(y, try c.floats("y")), "\(c.name)")
            #expect(QuantizedMatrix(unpacking: packed).codes[0] == npyValues(try c.npy("weight_codes"), as: Int8.self), "\(c.name)")
            withExtendedLifetime(scalesFile) {}
        }
    }

    static func transform(_ c: Case) throws -> OutputTransform {
        OutputTransform(scale: c.hasOutScale ? try c.floats("out_scale")[0] : nil,
                        bias: c.hasBias ? try c.floats("bias") : nil)
    }

    /// Where a .npy file's data starts: after the 10-byte preamble (v1) and its header.
    static func npyDataOffset(_ file: MappedFile) throws -> Int {
        var cursor = file.cursor(at: 8)
        return 10 + Int(try cursor.u16("header length"))
    }
}
