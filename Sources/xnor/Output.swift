#if canImport(Glibc)
import Glibc
#endif

/// Unbuffered writes to a standard stream, for messages that must not interleave.
struct FileHandleStream: TextOutputStream {
    let fd: Int32
    static let standardError = FileHandleStream(fd: 2)
    /// Streamed text (generation), written as it is made rather than when print's buffer fills.
    static let standardOutput = FileHandleStream(fd: 1)

    func write(_ string: String) {
        var copy = string
        copy.withUTF8 { buffer in
            var done = 0
            while done < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
                if n <= 0 { return }
                done += n
            }
        }
    }
}

/// Human-readable sizes and counts for the text reports.
enum Units {
    static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(n) B" : String(format1: value) + " " + units[unit]
    }

    static func count(_ n: Int) -> String {
        switch n {
        case 1_000_000_000...: String(format1: Double(n) / 1e9) + " B"
        case 1_000_000...: String(format1: Double(n) / 1e6) + " M"
        case 10_000...: String(format1: Double(n) / 1e3) + " K"
        default: String(n)
        }
    }
}

extension String {
    /// One digit after the point, without Foundation.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }

    func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
