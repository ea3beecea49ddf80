import Formats
import FuzzLLMSupport
import FuzzSupport
import Tensors
import Models

private let scratch = ScratchFile(extension: "gguf")

/// libFuzzer's entry point: the input as a GGUF checkpoint, read, and when it names an
/// architecture, built into a graph: the `<arch>.*` hyper-parameters (HyperParameters.config),
/// rope_freqs and every builder's tensor checks. What is built must run (LanguageModelInvariants);
/// its outputs may be non-finite, since the weights are fuzzed too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUFModel(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    MemoryLimit.set(LanguageModelInvariants.memoryLimit)
    let file = scratch.mapped(data, count: size)
    let built: BuiltModel
    do {
        let model = try GGUFReader.read(file)
        guard ModelRegistry.isModel(model) else { return 0 }
        built = try ModelRegistry.build(model)
    } catch {
        ReaderInvariants.expectFormatError(error)
        return 0
    }
    LanguageModelInvariants.check(built, finiteWeights: false)
    return 0
}
