#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// How much working memory a command may take for what a model declares: a plan's buffers
/// (a graph input of 10¹¹ elements, a ConstantOfShape of 4·10⁹) and a reader's decoded form
/// (an ONNX file of millions of tiny messages) are checked against it before anything is
/// allocated. The default is the machine's physical memory, or three quarters of the
/// process's address-space or data limit (`ulimit -v`, `-d`) when one is set lower, leaving
/// room for the mapped model and the program; `--max-memory SIZE` sets it.
public enum MemoryLimit {
    private static let override = Mutex<Int?>(nil)

    public static func set(_ bytes: Int?) {
        override.withLock { $0 = bytes }
    }

    public static var bytes: Int {
        if let bytes = override.withLock({ $0 }) { return bytes }
        var limit = physicalMemory
        for resource in [RLIMIT_AS, RLIMIT_DATA] {
            var value = rlimit()
            guard getrlimit(__rlimit_resource_t(resource.rawValue), &value) == 0, value.rlim_cur != rlim_t.max,
                  let bytes = Int(exactly: value.rlim_cur) else { continue }
            limit = min(limit, bytes / 4 * 3)
        }
        return limit
    }

    static var physicalMemory: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, pageSize > 0 else { return 1 << 34 }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageSize)
        return overflow ? Int.max : bytes
    }

    /// The error for `bytes` over the limit, naming what asked for them.
    public static func exceeded(_ what: String, bytes: Int, limit: Int) -> String {
        "\(what) needs \(bytes) bytes, more than the memory limit of \(limit) bytes; raise it with --max-memory SIZE"
    }
}
