import ArgumentParser
import Formats

/// The limits every command that reads a model shares, and how to raise them.
struct ReadLimits: ParsableArguments {
    @Option(name: .customLong("max-decompressed"),
            help: ArgumentHelp("Largest size a zstd-compressed input may decompress to (bytes, or with K, M, G, T); default 64 × the compressed size, at least 8G.", valueName: "SIZE"))
    var maxDecompressed: String?

    func validate() throws {
        if let maxDecompressed, DecompressionLimit.parse(maxDecompressed) == nil {
            throw ValidationError("--max-decompressed '\(maxDecompressed)' is not a size such as 20G or 512M")
        }
    }

    /// Puts the limits in force for this process.
    func apply() {
        DecompressionLimit.set(maxDecompressed.flatMap(DecompressionLimit.parse))
    }
}
