import Synchronization

/// How large a zstd-compressed input may grow when decompressed: a zstd bomb (a few MB that
/// expand to many GB) must end with an error, not fill the disk or run for minutes.
///
/// The default is 64 times the compressed size, at least 1 GiB: weights compress by far less
/// than 64×, so only bombs and nearly empty tensors reach it. `--max-decompressed SIZE` sets
/// it for one command.
public enum DecompressionLimit {
    public static let defaultRatio = 64
    public static let defaultFloor = 1 << 30

    private static let override = Mutex<Int?>(nil)

    /// Sets the limit for this process (`--max-decompressed`); nil restores the default.
    public static func set(_ bytes: Int?) {
        override.withLock { $0 = bytes }
    }

    static func bytes(compressedSize: Int) -> Int {
        if let bytes = override.withLock({ $0 }) { return bytes }
        let (scaled, overflow) = compressedSize.multipliedReportingOverflow(by: defaultRatio)
        return max(overflow ? Int.max : scaled, defaultFloor)
    }

    static func message(declared: UInt64?, limit: Int) -> String {
        let what = declared.map { "its frames declare \($0) bytes" } ?? "it decompresses to more"
        return "zstd: \(what), over the limit of \(limit) bytes (\(Units.describe(limit))); raise it with --max-decompressed SIZE"
    }

    enum Units {
        static func describe(_ bytes: Int) -> String {
            let gib = Double(bytes) / Double(1 << 30)
            return gib >= 1 ? "\((gib * 10).rounded() / 10) GiB" : "\((Double(bytes) / Double(1 << 20) * 10).rounded() / 10) MiB"
        }
    }
}
