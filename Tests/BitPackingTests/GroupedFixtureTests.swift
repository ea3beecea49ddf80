import Tensors
import BitPacking
import Formats
import Testing

/// The grouped-format cases tools/bitpack_reference.py computed with numpy from
/// formats/XNORPopcountGemm.md (xnortools/weight_formats.py): round-to-nearest codes, scales
/// and offsets, planes and the integer parts per plane and group must match bit for bit, and
/// the outputs of the kernel and of the simulated reference too (same float64 order).
@Suite struct GroupedFixtureTests {
    struct Case {
        var name: String
        var activation: ActivationMode
        var format: WeightFormat
        var n: Int, k: Int, m: Int
        var hasOutScale: Bool, hasBias: Bool
        var folder: String

        func npy(_ file: String) throws -> NpyArray { try NpyReader.read(folder + "/" + file + ".npy") }
        /// Round to nearest as the fixture's numpy did: with its salient columns when the format has some.
        func roundToNearest() throws -> QuantizedMatrix {
            guard format.hasSalientColumns else { return try QuantizedMatrix.roundToNearest(try floats("W"), n: n, k: k, format: format) }
            let columns = npyValues(try npy("salient_columns"), as: Int32.self).map { Int($0) }
            return try QuantizedMatrix.roundToNearest(try floats("W"), n: n, k: k, format: format, salientColumns: columns)
        }
        func floats(_ file: String) throws -> [Float] { try npy(file).floatValues() }
        var transform: OutputTransform {
            get throws {
                OutputTransform(scale: hasOutScale ? try floats("out_scale")[0] : nil, bias: hasBias ? try floats("bias") : nil)
            }
        }
    }

    static func loadCases() throws -> [Case] {
        let file = try MappedFile.open(fixtureFolder + "/grouped_cases.json")
        let manifest = try JSONParser.parse(try file.bytes(in: 0..<file.size))
        return try #require(manifest["cases"]?.arrayValue).map { entry in
            let name = try #require(entry["name"]?.stringValue)
            let mode = try #require(ConversionMode(rawValue: entry["mode"]?.stringValue ?? ""))
            return Case(name: name, activation: mode.activationMode,
                        format: try WeightFormat(name: try #require(entry["weight_format"]?.stringValue)),
                        n: try #require(entry["n"]?.nonNegativeInt), k: try #require(entry["k"]?.nonNegativeInt),
                        m: try #require(entry["m"]?.nonNegativeInt),
                        hasOutScale: entry["out_scale"] == .bool(true), hasBias: entry["bias"] == .bool(true),
                        folder: fixtureFolder + "/" + name)
        }
    }

    @Test func manifestCoversEveryFormatShortGroupsAndBatches() throws {
        let cases = try Self.loadCases()
        #expect(Set(cases.map(\.format.name)) == ["b1g64", "b2g128", "b3g192", "b2g128a", "t1g128", "b1g64s16", "b2g128s5p2", "b1g64as70p1"])
        #expect(cases.allSatisfy { $0.k % 64 != 0 && $0.format.baseInputs(k: $0.k) % ($0.format.groupSize ?? 1) != 0 })
        #expect(Set(cases.map(\.m)).isSuperset(of: [1, 3, 64]))
        #expect(cases.contains { $0.activation == .a1 } && cases.contains { $0.hasOutScale && $0.hasBias })
    }

    @Test func roundToNearestAndPackingMatchNumpy() throws {
        for c in try Self.loadCases() {
            let q = try c.roundToNearest()
            #expect(q.codes.flatMap { $0 } == npyValues(try c.npy("weight_codes"), as: Int8.self), "\(c.name)")
            if let salient = q.salient {
                #expect(salient.codes.flatMap { $0 } == npyValues(try c.npy("salient_codes"), as: Int8.self), "\(c.name)")
                #expect(sameBits(salient.scales, try c.floats("salient_scales")), "\(c.name)")
                let planes = npyValues(try c.npy("salient_planes"), as: UInt64.self)
                let packed = try PackedWeights.pack(q)
                let words = (0..<c.format.salientPlanes).flatMap { i in packed.withSalientPlaneBytes(i) { Array($0.bindMemory(to: UInt64.self)) } }
                #expect(words == planes, "\(c.name)")
            }
            #expect(sameBits(q.scales, try c.floats("weight_scales")), "\(c.name)")
            #expect(sameBits(q.offsets, c.format.affine ? try c.floats("weight_offsets") : []), "\(c.name)")
            let packed = try PackedWeights.pack(q)
            let planes = npyValues(try c.npy("weight_planes"), as: UInt64.self)
            let planeCount = c.format.traits.planeNames(c.format).count
            #expect((0..<planeCount).flatMap { packed.planeWords($0) } == planes, "\(c.name)")
            #expect(QuantizedMatrix(unpacking: packed) == q, "\(c.name)")
        }
    }

    @Test func kernelAndSimulatedReferenceMatchNumpy() throws {
        var activations = PackedActivations()
        for c in try Self.loadCases() {
            let q = try c.roundToNearest()
            let packed = try PackedWeights.pack(q)
            let x = try c.floats("x")
            try activations.pack(x, rows: c.m, k: c.k, mode: c.activation)
            let expectedIntegers = npyValues(try c.npy("int"), as: Int64.self)
            let expectedY = try c.floats("y")
            #expect(try PopcountGemm.integerParts(weights: packed, activations: activations) == expectedIntegers, "\(c.name)")
            var y = [Float](repeating: 0, count: c.m * c.n)
            try PopcountGemm.run(weights: packed, activations: activations, transform: try c.transform, into: &y)
            #expect(sameBits(y, expectedY), "\(c.name): kernel")

            let quantizedX = try QuantizedActivations.quantize(x, rows: c.m, k: c.k, mode: c.activation)
            #expect(quantizedX.codes == npyValues(try c.npy("act_codes"), as: Int8.self), "\(c.name)")
            #expect(try SimulatedReference.integerParts(weights: q, activations: quantizedX) == expectedIntegers, "\(c.name)")
            let reference = try SimulatedReference.gemm(weights: q, activations: quantizedX, transform: try c.transform)
            #expect(sameBits(reference, expectedY), "\(c.name): simulated reference")
        }
    }

    /// The loader's path: planes, float16 scales and offsets wrapped from bytes, not copied.
    @Test func zeroCopyGroupedWeights() throws {
        var activations = PackedActivations()
        for c in try Self.loadCases() where !c.format.hasSalientColumns {
            let packed = try PackedWeights.pack(try QuantizedMatrix.roundToNearest(try c.floats("W"), n: c.n, k: c.k, format: c.format))
            let owner = Owner(planes: (0..<c.format.traits.planeNames(c.format).count).map { packed.planeWords($0) },
                              scales: packed.withScaleBytes { Array($0) }, offsets: packed.withOffsetBytes { Array($0) })
            let wrapped = try owner.withBuffers { planes, scales, offsets in
                try PackedWeights(format: c.format, n: c.n, k: c.k, planes: planes, scales: scales,
                                  offsets: c.format.affine ? offsets : nil, owner: owner)
            }
            try activations.pack(try c.floats("x"), rows: c.m, k: c.k, mode: c.activation)
            var y = [Float](repeating: 0, count: c.m * c.n)
            try PopcountGemm.run(weights: wrapped, activations: activations, transform: try c.transform, into: &y)
            #expect(sameBits(y, try c.floats("y")), "\(c.name)")
        }
    }

    /// Memory that outlives the wrapped weights, as a mapped file does.
    final class Owner: @unchecked Sendable {
        let planes: [UnsafeMutableRawBufferPointer]
        let scales: UnsafeMutableRawBufferPointer
        let offsets: UnsafeMutableRawBufferPointer

        init(planes: [[UInt64]], scales: [UInt8], offsets: [UInt8]) {
            func copy<T>(_ values: [T]) -> UnsafeMutableRawBufferPointer {
                let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, values.count * MemoryLayout<T>.stride), alignment: 64)
                values.withUnsafeBytes { bytes.copyMemory(from: $0) }
                return UnsafeMutableRawBufferPointer(rebasing: bytes[0..<(values.count * MemoryLayout<T>.stride)])
            }
            self.planes = planes.map(copy)
            self.scales = copy(scales)
            self.offsets = copy(offsets)
        }

        func withBuffers<R>(_ body: ([UnsafeRawBufferPointer], UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            try body(planes.map { UnsafeRawBufferPointer($0) }, UnsafeRawBufferPointer(scales), UnsafeRawBufferPointer(offsets))
        }

        deinit {
            for buffer in planes + [scales, offsets] { buffer.baseAddress?.deallocate() }
        }
    }
}
