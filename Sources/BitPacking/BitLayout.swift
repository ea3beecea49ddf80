/// The bit layout of every plane (DESIGN.md "Bit layout").
///
/// Element k of a row is bit (k mod 64) of word k/64; each row is padded with zero bits to a
/// multiple of 512 bits, so rows are whole 64-byte cache lines and start on a 64-byte
/// boundary whenever the plane does.
public enum BitLayout {
    public static let rowAlignmentBits = 512
    public static let wordsPerRowAlignment = rowAlignmentBits / 64

    /// Words from one row to the next for a row of `k` elements: a multiple of 8; nil when
    /// `k` is negative or so large that the padding overflows.
    public static func rowStrideWords(k: Int) -> Int? {
        guard k >= 0, k <= Int.max - (rowAlignmentBits - 1) else { return nil }
        return (k + rowAlignmentBits - 1) / rowAlignmentBits * wordsPerRowAlignment
    }

    /// Words that hold at least one element (the rest of the stride is padding).
    static func dataWords(k: Int) -> Int { (k + 63) / 64 }

    /// The bits of the last data word that hold elements; the kernels mask with it so that
    /// padding never counts, whatever a file's padding words contain.
    static func tailMask(k: Int) -> UInt64 {
        let used = k % 64
        return used == 0 ? ~0 : (UInt64(1) << UInt64(used)) - 1
    }
}
