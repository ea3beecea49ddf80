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

    /// The product of `values`, nil when it overflows Int or any value is negative.
    public static func product<S: Sequence>(_ values: S) -> Int? where S.Element == Int {
        var result = 1
        for v in values {
            guard v >= 0, let r = multiply(result, v) else { return nil }
            result = r
        }
        return result
    }

    /// `value` as an Int when it fits.
    public static func int(_ value: UInt64) -> Int? {
        value <= UInt64(Int.max) ? Int(value) : nil
    }
}
