/// The names of weight formats (CLI `--weight-format`, the node attribute `weight_format`,
/// reports): `w1`, `w1.58` (legacy), `b{P}g{G}` binary with P residual sign planes and group G,
/// suffix `a` for an affine offset (`b2g128a`), `t1g{G}` ternary with group scales.
extension WeightFormat {
    /// What `validate()` accepts: binary 1–3 planes, groups a multiple of 64.
    public static let maxBinaryPlanes = 3

    public var name: String {
        switch (kind, scope) {
        case (.binary, .row) where planes == 1 && !affine: return "w1"
        case (.ternary, .tensor) where planes == 1 && !affine: return "w1.58"
        case (.binary, .group(let g)):
            let salient = salientColumns == 0 ? ""
                : "s\(salientColumns)" + (salientPlanes == Self.defaultSalientPlanes ? "" : "p\(salientPlanes)")
            return "b\(planes)g\(g)\(affine ? "a" : "")\(salient)"
        case (.ternary, .group(let g)) where !affine && salientColumns == 0: return "t\(planes)g\(g)"
        default:
            // Not a format `validate()` accepts; a descriptive name for the error message.
            return "\(kind.rawValue)(planes: \(planes), scope: \(scope), affine: \(affine), salient: \(salientColumns)×\(salientPlanes))"
        }
    }

    /// Whether this is one of the two formats of `WeightMode`, whose layout predates the table.
    public var isLegacy: Bool { self == .w1 || self == .w1_58 }

    /// The most salient columns a name may give (their indices are stored as int32).
    public static let maxSalientColumns = 65536

    /// Parses and validates a format name; the error says what is wrong with it.
    public init(name: String) throws {
        if name == "w1" { self = .w1; return }
        if name == "w1.58" { self = .w1_58; return }
        let bad = { (why: String) in
            BitPackingError("weight format '\(name)': \(why) (expected w1, w1.58, b{P}g{G} with an optional a and s{S}[p{Q}], or t1g{G})")
        }
        var rest = Substring(name)
        let kind: Kind
        switch rest.first {
        case "b": kind = .binary
        case "t": kind = .ternary
        default: throw bad("unknown format")
        }
        rest = rest.dropFirst()
        let planeDigits = rest.prefix(while: \.isASCIIDigit)
        rest = rest.dropFirst(planeDigits.count)
        // One spelling per format: no leading zeros, so names compare as strings.
        guard planeDigits.count == 1, let planes = Int(planeDigits), rest.first == "g" else { throw bad("no plane count and 'g'") }
        rest = rest.dropFirst()
        let groupDigits = rest.prefix(while: \.isASCIIDigit)
        rest = rest.dropFirst(groupDigits.count)
        guard !groupDigits.isEmpty, groupDigits.count <= 9, groupDigits.first != "0", let group = Int(groupDigits) else {
            throw bad("no group size")
        }
        let affine = rest.first == "a"
        if affine { rest = rest.dropFirst() }
        var salientColumns = 0, salientPlanes = 0
        if rest.first == "s" {
            rest = rest.dropFirst()
            let digits = rest.prefix(while: \.isASCIIDigit)
            rest = rest.dropFirst(digits.count)
            guard !digits.isEmpty, digits.count <= 9, digits.first != "0", let s = Int(digits) else { throw bad("no salient column count after 's'") }
            salientColumns = s
            salientPlanes = Self.defaultSalientPlanes
            if rest.first == "p" {
                rest = rest.dropFirst()
                let digits = rest.prefix(while: \.isASCIIDigit)
                rest = rest.dropFirst(digits.count)
                guard digits.count == 1, let q = Int(digits), q != Self.defaultSalientPlanes else {
                    throw bad("'p' needs one digit other than the default \(Self.defaultSalientPlanes) salient planes")
                }
                salientPlanes = q
            }
        }
        guard rest.isEmpty else { throw bad("unexpected '\(rest)' after the group size") }
        let format = WeightFormat(kind: kind, planes: planes, scope: .group(group), affine: affine,
                                  salientColumns: salientColumns, salientPlanes: salientPlanes)
        do {
            try format.validate()
        } catch let error as BitPackingError {
            throw bad(error.message)
        }
        self = format
    }

    /// Throws unless this descriptor is a format the packer, the kernels and the file know.
    public func validate() throws {
        if isLegacy { return }
        guard case .group(let g) = scope else {
            throw BitPackingError("scale scope \(scope) is only defined for the legacy formats w1 (.row) and w1.58 (.tensor)")
        }
        guard g >= 64, g % 64 == 0 else { throw BitPackingError("group size \(g) is not a positive multiple of 64") }
        switch kind {
        case .binary:
            guard (1...Self.maxBinaryPlanes).contains(planes) else {
                throw BitPackingError("binary formats have 1 to \(Self.maxBinaryPlanes) planes, not \(planes)")
            }
        case .ternary:
            guard planes == 1 else { throw BitPackingError("ternary formats have 1 plane, not \(planes)") }
            guard !affine else { throw BitPackingError("ternary formats have no affine offset") }
        }
        if salientColumns == 0 {
            guard salientPlanes == 0 else { throw BitPackingError("\(salientPlanes) salient planes without salient columns") }
            return
        }
        guard kind == .binary else { throw BitPackingError("salient columns are defined for the binary formats only") }
        guard (1...Self.maxSalientColumns).contains(salientColumns) else {
            throw BitPackingError("salient columns \(salientColumns) out of 1...\(Self.maxSalientColumns)")
        }
        guard (1...Self.maxBinaryPlanes).contains(salientPlanes) else {
            throw BitPackingError("the salient set has 1 to \(Self.maxBinaryPlanes) planes, not \(salientPlanes)")
        }
    }

    /// Throws unless a matrix of K inputs can hold this format: the salient columns leave at
    /// least one base column.
    public func validate(k: Int) throws {
        try validate()
        guard salientColumns < k else {
            throw BitPackingError("\(name) takes \(salientColumns) salient columns out of K = \(k) inputs; at least one must stay in the base planes")
        }
    }

    /// Inputs the base planes hold: K without the salient columns.
    public func baseInputs(k: Int) -> Int { k - salientColumns }

    /// The group size G of a grouped format; nil for the legacy ones.
    public var groupSize: Int? {
        if case .group(let g) = scope { return g }
        return nil
    }

    /// Base scales per output row: ⌈(K − S) / G⌉ groups over the K − S base inputs (the last
    /// one short when G does not divide them; S = 0 without salient columns); 1 for `.row`
    /// and `.tensor`.
    public func groupCount(k: Int) -> Int {
        guard let g = groupSize else { return 1 }
        return (Swift.max(baseInputs(k: k), 0) + g - 1) / g
    }

    /// The activation modes the products of this format are defined for.
    /// Salient columns keep a1: the gathered columns carry the row's one β like the others.
    public var activationModes: [ActivationMode] { kind == .ternary ? [.a8] : [.a1, .a8] }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

extension WeightFormat {
    /// The weight format and activation mode of an XNORPopcountGemm node from its attributes:
    /// `mode` (`w1a1`, `w1a8`, `w1.58a8`) gives the activation mode, and the weight format
    /// when `weight_format` is absent (legacy files); otherwise `weight_format` names it.
    public static func ofNode(mode: String, weightFormat: String?) throws -> (format: WeightFormat, activation: ActivationMode) {
        guard let conversion = ConversionMode(rawValue: mode) else {
            throw BitPackingError("unknown mode '\(mode)' (expected \(ConversionMode.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let weightFormat else { return (conversion.weightMode.format, conversion.activationMode) }
        let format = try WeightFormat(name: weightFormat)
        guard format.activationModes.contains(conversion.activationMode) else {
            throw BitPackingError("weight format \(format.name) cannot take \(conversion.activationMode.rawValue) activations (mode \(mode))")
        }
        return (format, conversion.activationMode)
    }
}
