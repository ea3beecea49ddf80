/// Overflow-checked arithmetic for sizes read from untrusted files.
///
/// Each returns nil instead of trapping, so a reader can turn the overflow into a FormatError
/// that names the field.
public enum Checked {
    public static func multiply(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        return o ? nil : r
    }

    public static func add(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? nil : r
    }

    /// The product of `values`, nil when any value is negative or the product of the non-zero
    /// values overflows Int, even when a zero makes the product 0: then every partial product,
    /// in any order (shape order, GGUF's reversed ne, strides), fits an Int too, and
    /// `shape.reduce(1, *)` never traps on a shape that passed.
    public static func product<S: Sequence>(_ values: S) -> Int? where S.Element == Int {
        var nonZero = 1
        var hasZero = false
        for v in values {
            guard v >= 0 else { return nil }
            if v == 0 {
                hasZero = true
                continue
            }
            guard let r = multiply(nonZero, v) else { return nil }
            nonZero = r
        }
        return hasZero ? 0 : nonZero
    }

    /// `value` as an Int when it fits.
    public static func int(_ value: UInt64) -> Int? {
        value <= UInt64(Int.max) ? Int(value) : nil
    }
}
