import CKernels
import Tensors

/// Activation rows x [M, K] quantized and packed by an activation mode, in buffers that are
/// reused from one call to the next (nothing is allocated once they have grown to the
/// largest M × K seen).
///
/// Layout (internal; the kernels are its only readers): a1 holds one sign plane per row,
/// [M, rowStrideWords]; a8 holds the 8 planes of each 64-element word next to each other,
/// [M, rowStrideWords, 8], so one weight word meets one 64-byte line of activation bits.
/// Padding bits are always 0. a8 also keeps the codes as bytes, [M, rowStrideWords · 64]
/// (padding 0), which the VNNI path multiplies as int8.
///
/// A row with a NaN or infinite value is not quantized: it is flagged, its planes are 0,
/// its scale NaN, and every output of that row is NaN.
public struct PackedActivations: Sendable {
    public private(set) var mode: ActivationMode
    public private(set) var rows: Int = 0
    public private(set) var k: Int = 0
    public private(set) var rowStrideWords: Int = 0

    var words: [UInt64] = []
    /// a8: q as bytes, [M, rowStrideWords · 64]; empty for a1.
    var codes: [Int8] = []
    /// β (a1) or s (a8) per row.
    var scales: [Float] = []
    /// Σ_k q_k per row (a8).
    var codeSums: [Int64] = []
    var finite: [Bool] = []

    public init(mode: ActivationMode = .a1) {
        self.mode = mode
    }

    public mutating func pack(_ x: [Float], rows m: Int, k: Int, mode: ActivationMode, isa: KernelISA = .best) throws {
        try x.withUnsafeBufferPointer { try pack($0, rows: m, k: k, mode: mode, isa: isa) }
    }

    /// Quantizes and packs `x`, M rows of K values, row-major: by the C path `isa` of
    /// CKernels, or by the plain Swift code below (`.swift`) that the C paths are held to.
    /// With a pool, the C paths pack contiguous blocks of rows on its threads (rows are packed
    /// independently, so the result does not depend on the pool).
    public mutating func pack(_ x: UnsafeBufferPointer<Float>, rows m: Int, k: Int, mode: ActivationMode, isa: KernelISA = .best,
                              pool: WorkerPool? = nil) throws {
        guard k >= 1 else { throw BitPackingError("K = \(k): an activation row needs at least one value") }
        guard m >= 0, x.count / k == m, x.count % k == 0 else {
            throw BitPackingError("activations have \(x.count) values, expected M × K = \(m) × \(k)")
        }
        guard let stride = BitLayout.rowStrideWords(k: k) else { throw BitPackingError("K = \(k) is too large") }
        let rowWords = stride * mode.planeCount
        let (wordCount, overflow) = m.multipliedReportingOverflow(by: rowWords)
        guard !overflow else { throw BitPackingError("M = \(m), K = \(k) overflows the packed size") }

        // Taken out of self so the closures below hold no overlapping access to it; the
        // arrays stay uniquely referenced, so nothing is copied.
        var words = self.words, codes = self.codes, scales = self.scales, codeSums = self.codeSums, finite = self.finite
        self.words = []; self.codes = []; self.scales = []; self.codeSums = []; self.finite = []
        if words.count < wordCount { words.append(contentsOf: repeatElement(0, count: wordCount - words.count)) }
        // The byte codes are as many as the a8 words' bits / 8: M · stride · 64.
        let codeCount = mode == .a8 ? wordCount * 8 : 0
        if codes.count < codeCount { codes.append(contentsOf: repeatElement(0, count: codeCount - codes.count)) }
        if scales.count < m {
            scales.append(contentsOf: repeatElement(0, count: m - scales.count))
            codeSums.append(contentsOf: repeatElement(0, count: m - codeSums.count))
            finite.append(contentsOf: repeatElement(false, count: m - finite.count))
        }
        if let path = isa.cPath {
            words.withUnsafeMutableBufferPointer { words in
                codes.withUnsafeMutableBufferPointer { codes in
                    scales.withUnsafeMutableBufferPointer { scales in
                        codeSums.withUnsafeMutableBufferPointer { codeSums in
                            finite.withUnsafeMutableBufferPointer { finite in
                                func packRows(_ first: Int, _ end: Int) {
                                    xnor_pack_activations(path, mode == .a8, x.baseAddress, k, first, end, stride, words.baseAddress,
                                                          mode == .a8 ? codes.baseAddress : nil, scales.baseAddress, codeSums.baseAddress,
                                                          finite.baseAddress)
                                }
                                // A block of rows is worth a thread from about 64K values on.
                                let blocks = min(pool?.threads ?? 1, m * k / 65536)
                                if let pool, blocks > 1 {
                                    pool.parallelFor(blocks) { i in packRows(m * i / blocks, m * (i + 1) / blocks) }
                                } else {
                                    packRows(0, m)
                                }
                            }
                        }
                    }
                }
            }
        } else {
            packInSwift(x, rows: m, k: k, mode: mode, rowWords: rowWords, words: &words, codes: &codes, scales: &scales,
                        codeSums: &codeSums, finite: &finite)
        }
        self.words = words
        self.codes = codes
        self.scales = scales
        self.codeSums = codeSums
        self.finite = finite
        self.mode = mode
        rows = m
        self.k = k
        rowStrideWords = stride
    }

    /// The plain Swift packing, the reference of the C paths.
    private func packInSwift(_ x: UnsafeBufferPointer<Float>, rows m: Int, k: Int, mode: ActivationMode, rowWords: Int,
                             words: inout [UInt64], codes: inout [Int8], scales: inout [Float], codeSums: inout [Int64], finite: inout [Bool]) {
        let rowCodes = mode == .a8 ? rowWords * 8 : 0
        words.withUnsafeMutableBufferPointer { words in
            for r in 0..<m {
                let row = UnsafeBufferPointer(rebasing: x[(r * k)..<(r * k + k)])
                let planes = UnsafeMutableBufferPointer(rebasing: words[(r * rowWords)..<(r * rowWords + rowWords)])
                planes.update(repeating: 0)
                for i in 0..<rowCodes { codes[r * rowCodes + i] = 0 }
                guard row.allSatisfy({ $0.isFinite }) else {
                    scales[r] = .nan
                    codeSums[r] = 0
                    finite[r] = false
                    continue
                }
                finite[r] = true
                switch mode {
                case .a1:
                    scales[r] = Numerics.absMean(row)
                    codeSums[r] = 0
                    for (i, v) in row.enumerated() where v < 0 {
                        planes[i >> 6] |= UInt64(1) << UInt64(i & 63)
                    }
                case .a8:
                    var maxAbs: Float = 0
                    for v in row { maxAbs = max(maxAbs, v.magnitude) }
                    let s = Numerics.a8Scale(maxAbs: maxAbs)
                    scales[r] = s
                    var sum: Int64 = 0
                    // One 64-element word at a time, its eight planes kept in registers.
                    for word in 0..<BitLayout.dataWords(k: k) {
                        let start = word * 64
                        var p0: UInt64 = 0, p1: UInt64 = 0, p2: UInt64 = 0, p3: UInt64 = 0
                        var p4: UInt64 = 0, p5: UInt64 = 0, p6: UInt64 = 0, p7: UInt64 = 0
                        for i in start..<min(start + 64, k) {
                            let q = Numerics.a8Code(row[i], scale: s)
                            sum += Int64(q)
                            codes[r * rowCodes + i] = q
                            let bits = UInt64(UInt8(bitPattern: q)), shift = UInt64(i - start)
                            p0 |= (bits & 1) << shift
                            p1 |= ((bits >> 1) & 1) << shift
                            p2 |= ((bits >> 2) & 1) << shift
                            p3 |= ((bits >> 3) & 1) << shift
                            p4 |= ((bits >> 4) & 1) << shift
                            p5 |= ((bits >> 5) & 1) << shift
                            p6 |= ((bits >> 6) & 1) << shift
                            p7 |= (bits >> 7) << shift
                        }
                        let base = word * 8
                        planes[base] = p0; planes[base + 1] = p1; planes[base + 2] = p2; planes[base + 3] = p3
                        planes[base + 4] = p4; planes[base + 5] = p5; planes[base + 6] = p6; planes[base + 7] = p7
                    }
                    codeSums[r] = sum
                }
            }
        }
    }

    /// β (a1) or s (a8) of row `row`; NaN for a row with a non-finite value.
    public func scale(row: Int) -> Float {
        precondition(row >= 0 && row < rows, "row \(row) out of 0..<\(rows)")
        return scales[row]
    }

    /// Σ_k q_k of row `row` (a8; 0 for a1).
    public func codeSum(row: Int) -> Int64 {
        precondition(row >= 0 && row < rows, "row \(row) out of 0..<\(rows)")
        return codeSums[row]
    }

    /// Whether every value of row `row` was finite.
    public func isFinite(row: Int) -> Bool {
        precondition(row >= 0 && row < rows, "row \(row) out of 0..<\(rows)")
        return finite[row]
    }

    /// The codes of `columns` (increasing, each < k) as activation rows of their own, with
    /// the same scales and finiteness: what each part of a salient format multiplies. The
    /// codes are copied bit by bit, so the integer parts over them are exact.
    func gathered(columns: [Int]) -> PackedActivations {
        let count = columns.count, planeCount = mode.planeCount
        let stride = BitLayout.rowStrideWords(k: count) ?? 0
        let rowWords = stride * planeCount, sourceRowWords = rowStrideWords * planeCount
        var out = [UInt64](repeating: 0, count: rows * rowWords)
        var outCodes = [Int8](repeating: 0, count: mode == .a8 ? rows * stride * 64 : 0)
        var sums = [Int64](repeating: 0, count: rows)
        for r in 0..<rows where finite[r] {
            let source = r * sourceRowWords, target = r * rowWords
            var sum: Int64 = 0
            for (t, c) in columns.enumerated() {
                let bit = UInt64(1) << UInt64(c & 63), set = UInt64(1) << UInt64(t & 63)
                if mode == .a1 {
                    if words[source + (c >> 6)] & bit != 0 { out[target + (t >> 6)] |= set }
                    continue
                }
                var code = 0
                for b in 0..<8 where words[source + (c >> 6) * 8 + b] & bit != 0 {
                    out[target + (t >> 6) * 8 + b] |= set
                    code += b == 7 ? -128 : 1 << b
                }
                outCodes[r * stride * 64 + t] = Int8(code)
                sum += Int64(code)
            }
            sums[r] = mode == .a8 ? sum : 0
        }
        var result = PackedActivations(mode: mode)
        result.rows = rows
        result.k = count
        result.rowStrideWords = stride
        result.words = out
        result.codes = outCodes
        result.scales = Array(scales[0..<rows])
        result.codeSums = sums
        result.finite = Array(finite[0..<rows])
        return result
    }

    /// The codes q of row `row` as the VNNI path reads them (a8; empty for a1): rowStrideWords · 64
    /// bytes, padding included. For tests and tools.
    public func codeBytes(row: Int) -> [Int8] {
        precondition(row >= 0 && row < rows, "row \(row) out of 0..<\(rows)")
        guard mode == .a8 else { return [] }
        let width = rowStrideWords * 64
        return Array(codes[(row * width)..<(row * width + width)])
    }

    /// Plane `plane` of row `row` in the weights' layout (rowStrideWords words): the sign
    /// plane for a1, p_plane (bit `plane` of the 8-bit code) for a8. For tests and tools.
    public func planeWords(row: Int, plane: Int) -> [UInt64] {
        precondition(row >= 0 && row < rows, "row \(row) out of 0..<\(rows)")
        precondition(plane >= 0 && plane < mode.planeCount, "plane \(plane) out of 0..<\(mode.planeCount)")
        let rowWords = rowStrideWords * mode.planeCount
        return (0..<rowStrideWords).map { j in
            mode == .a1 ? words[row * rowWords + j] : words[row * rowWords + j * 8 + plane]
        }
    }
}
