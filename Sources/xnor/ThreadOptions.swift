import ArgumentParser
import BitPacking

/// `--threads`, shared by every command that runs a model (llama.cpp's `-t`).
struct ThreadOptions: ParsableArguments {
    @Option(name: [.customShort("t"), .customLong("threads")],
            help: "Threads that split each product (default: the cores online). The results are the same whatever the number.")
    var threads: Int?

    func validate() throws {
        if let threads, !(1...1024).contains(threads) {
            throw ValidationError("--threads \(threads) is out of range: give 1 to 1024")
        }
    }

    /// The threads a session gets.
    var count: Int { threads ?? WorkerPool.availableCores }
}
