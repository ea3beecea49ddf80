import XNORLoader
import Formats
import FuzzLLMSupport
import FuzzSupport
import Tensors
import Runtime

private let scratch = ScratchFile(extension: "xnor")

/// libFuzzer's entry point: the input as a .xnor model, opened as `run` opens one (the GGUF
/// header, the .xnor keys, the graph JSON over the mapped tensors, the packed weights), then
/// compiled and run on two tokens when it is a language model. Any of these may refuse the
/// file with an error; none may trap, and what runs must give the outputs the CLI reads.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzXNORModel(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    MemoryLimit.set(LanguageModelInvariants.memoryLimit)
    let file = scratch.mapped(data, count: size)
    let loaded: XNORModelFile.Loaded
    do {
        let model = try GGUFReader.read(file)
        guard XNORFile.isXNOR(model) else { return 0 }
        loaded = try XNORModelFile.open(try XNORFile(model: model))
    } catch {
        return 0
    }
    LanguageModelInvariants.check(loaded: loaded.packed.graph, registry: .xnor(weights: loaded.packed.weights))
    return 0
}
