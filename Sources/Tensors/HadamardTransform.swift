/// The normalized Hadamard transform of order n: v ← H_n · v / √n, orthogonal and its own
/// inverse only when H_n is symmetric (so callers fold Hᵀ, never H, into a weight).
///
/// H_n = H_m ⊗ H_{2^k}, n = m · 2^k: H_{2^k} is Sylvester's (entry (b, b′) = (−1)^popcount(b & b′)),
/// H_m a Paley matrix (formats/llm-graph.md, `Hadamard`). The factor m is the smallest one that
/// is 1 or a Paley order ≤ `maximumBaseOrder`, so the transform is a fast Walsh–Hadamard
/// transform of each of the m blocks of 2^k elements followed by an m × m mix: O(n log n + n·m).
public struct HadamardTransform: Sendable {
    /// The largest dense factor built: a bound on the m × m table a graph attribute can ask for.
    public static let maximumBaseOrder = 256
    /// The largest order accepted (2^24), so a size attribute cannot ask for unbounded work.
    public static let maximumSize = 1 << 24

    public let size: Int
    /// 2^k, the Sylvester factor.
    public let blockLength: Int
    /// m, the dense factor's order.
    public let baseOrder: Int
    /// H_m, row-major, entries ±1.
    public let base: [Int8]

    /// nil when n has no factorization this construction covers (n = 2^k · m with m = 1 or a
    /// Paley order ≤ `maximumBaseOrder`).
    public init?(size n: Int) {
        guard n >= 1, n <= Self.maximumSize else { return nil }
        let twos = n.trailingZeroBitCount
        if n >> twos == 1 {
            self.init(size: n, blockLength: n, base: [1], baseOrder: 1)
            return
        }
        // Orders other than 1 and 2 are multiples of 4: m keeps at least two factors of 2.
        var k = twos - 2
        while k >= 0 {
            let m = n >> k
            if m > Self.maximumBaseOrder { return nil }
            if let base = Self.paley(order: m) {
                self.init(size: n, blockLength: 1 << k, base: base, baseOrder: m)
                return
            }
            k -= 1
        }
        return nil
    }

    private init(size: Int, blockLength: Int, base: [Int8], baseOrder: Int) {
        self.size = size
        self.blockLength = blockLength
        self.base = base
        self.baseOrder = baseOrder
    }

    /// v ← H_n · v / √n in place; `scratch` holds at least `size` values.
    public func apply(_ v: UnsafeMutableBufferPointer<Double>, scratch: UnsafeMutableBufferPointer<Double>) {
        precondition(v.count == size && scratch.count >= size, "Hadamard transform of \(size) on \(v.count) values")
        let p = blockLength, m = baseOrder
        // Pointers and wrapping index arithmetic (every index is below `size`, checked above),
        // so that the loops vectorize: a decode step runs one transform per layer, serially.
        guard let values = v.baseAddress, let mixed = scratch.baseAddress else { return }
        for a in 0..<m {
            // In-place butterflies of Sylvester's order p on block a.
            let block = values + a &* p
            var h = 1
            while h < p {
                var i = 0
                while i < p {
                    let low = block + i, high = block + (i &+ h)
                    for j in 0..<h {
                        let x = low[j], y = high[j]
                        low[j] = x + y
                        high[j] = x - y
                    }
                    i &+= 2 &* h
                }
                h &*= 2
            }
        }
        let scale = 1 / Double(size).squareRoot()
        if m == 1 {
            for i in 0..<size { values[i] *= scale }
            return
        }
        // The m × m mix by rows of H_m, over the p positions at once (contiguous, so it
        // vectorizes). Each output still sums c = 0 … m − 1 in order from 0, and adding or
        // subtracting is multiplying by ±1 exactly.
        base.withUnsafeBufferPointer { signs in
            for a in 0..<m {
                let out = mixed + a &* p
                for b in 0..<p { out[b] = 0 }
                for c in 0..<m {
                    let source = values + c &* p
                    if signs[a &* m &+ c] > 0 {
                        for b in 0..<p { out[b] += source[b] }
                    } else {
                        for b in 0..<p { out[b] -= source[b] }
                    }
                }
            }
        }
        for i in 0..<size { values[i] = mixed[i] * scale }
    }

    /// The transform of a copy of `values`.
    public func applied(to values: [Double]) -> [Double] {
        var out = values
        var scratch = [Double](repeating: 0, count: size)
        out.withUnsafeMutableBufferPointer { v in scratch.withUnsafeMutableBufferPointer { apply(v, scratch: $0) } }
        return out
    }

    /// Entry (i, j) of the unnormalized H_n, ±1.
    public func entry(_ i: Int, _ j: Int) -> Int {
        let p = blockLength
        let sylvester = (i % p & j % p).nonzeroBitCount % 2 == 0 ? 1 : -1
        return Int(base[(i / p) * baseOrder + j / p]) * sylvester
    }

    /// A Paley matrix of order m, or nil. Paley I: m = q + 1 with q a prime ≡ 3 (mod 4);
    /// Paley II: m = 2(q + 1) with q a prime ≡ 1 (mod 4). Tried in that order.
    static func paley(order m: Int) -> [Int8]? {
        if m >= 4, isPrime(m - 1), (m - 1) % 4 == 3 { return paleyI(q: m - 1) }
        if m % 2 == 0, m >= 12, isPrime(m / 2 - 1), (m / 2 - 1) % 4 == 1 { return paleyII(q: m / 2 - 1) }
        return nil
    }

    /// χ(a): the Legendre symbol of a mod q (0, 1 for a square, −1 otherwise).
    static func legendre(_ a: Int, _ q: Int) -> Int {
        let r = ((a % q) + q) % q
        if r == 0 { return 0 }
        for x in 1..<q where x * x % q == r { return 1 }
        return -1
    }

    /// H = I + S with S = [[0, 1ᵀ], [−1, Q]], Q[i][j] = χ(j − i): skew, S Sᵀ = q I.
    static func paleyI(q: Int) -> [Int8] {
        let m = q + 1
        var h = [Int8](repeating: 0, count: m * m)
        for i in 0..<m {
            for j in 0..<m {
                let s: Int
                if i == 0 { s = j == 0 ? 0 : 1 } else if j == 0 { s = -1 } else { s = legendre(j - i, q) }
                h[i * m + j] = Int8(s + (i == j ? 1 : 0))
            }
        }
        return h
    }

    /// C = [[0, 1ᵀ], [1, Q]] (symmetric conference matrix, Q[i][j] = χ(j − i)), then each 0
    /// becomes [[1, −1], [−1, −1]] and each ±1 becomes ±[[1, 1], [1, −1]].
    static func paleyII(q: Int) -> [Int8] {
        let c = q + 1, m = 2 * c
        var h = [Int8](repeating: 0, count: m * m)
        for i in 0..<c {
            for j in 0..<c {
                let e: Int
                if i == 0 { e = j == 0 ? 0 : 1 } else if j == 0 { e = 1 } else { e = legendre(j - i, q) }
                let block: [Int] = e == 0 ? [1, -1, -1, -1] : [e, e, e, -e]
                h[(2 * i) * m + 2 * j] = Int8(block[0])
                h[(2 * i) * m + 2 * j + 1] = Int8(block[1])
                h[(2 * i + 1) * m + 2 * j] = Int8(block[2])
                h[(2 * i + 1) * m + 2 * j + 1] = Int8(block[3])
            }
        }
        return h
    }

    static func isPrime(_ n: Int) -> Bool {
        guard n >= 2 else { return false }
        var d = 2
        while d * d <= n {
            if n % d == 0 { return false }
            d += 1
        }
        return true
    }
}
