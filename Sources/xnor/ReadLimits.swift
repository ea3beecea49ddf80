import ArgumentParser
import Tensors
import Formats
import Runtime

/// The limits every command that reads a model shares, and how to raise them.
struct ReadLimits: ParsableArguments {
    @Option(name: .customLong("max-decompressed"),
            help: ArgumentHelp("Largest size a zstd-compressed input may decompress to (bytes, or with K, M, G, T); default 64 × the compressed size, at least 1G.", valueName: "SIZE"))
    var maxDecompressed: String?

    @Option(name: .customLong("max-memory"),
            help: ArgumentHelp("Working memory a run may plan (bytes, or with K, M, G, T); default the machine's physical memory.", valueName: "SIZE"))
    var maxMemory: String?

    func validate() throws {
        for (flag, value) in [("--max-decompressed", maxDecompressed), ("--max-memory", maxMemory)] {
            if let value, ByteSize.parse(value) == nil {
                throw ValidationError("\(flag) '\(value)' is not a size such as 20G or 512M")
            }
        }
    }

    /// Puts the limits in force for this process.
    func apply() {
        DecompressionLimit.set(maxDecompressed.flatMap(ByteSize.parse))
        MemoryLimit.set(maxMemory.flatMap(ByteSize.parse))
    }
}
