#if canImport(Glibc)
import Glibc
#endif
import Formats
import FuzzLLMSupport
import FuzzSupport
import Tensors
import Models

/// The fixture cases whose shards the config is read over: one per architecture and weight
/// layout the builders know (tied, GQA, q/k norms, biases, sub-norms, packed ternary, BERT).
private let cases = ["llama", "llama_tied_linear", "mistral", "qwen2", "qwen3", "bitnet", "bitnet_packed",
                     "bitnet_packed_autobitlinear", "bert"]

/// One scratch folder per case, holding its fixtures/llm shard (copied once); each input's
/// config.json is written beside it. XNOR_FUZZ_LLM_FIXTURES overrides fixtures/llm.
private let folders: [String] = {
    let root = FixtureFile.scratchFolder("llmconfig")
    let fixtures = getenv("XNOR_FUZZ_LLM_FIXTURES").map { String(cString: $0) } ?? "fixtures/llm"
    return cases.map { name in
        let folder = "\(root)/\(name)"
        mkdir(folder, 0o700)
        FixtureFile.copy("\(fixtures)/\(name)/model.safetensors", to: "\(folder)/model.safetensors",
                         hint: "run from the repository root or set XNOR_FUZZ_LLM_FIXTURES")
        return folder
    }
}()

/// libFuzzer's entry point: the first byte picks the shard (modulo the cases), the rest is
/// config.json. What the builders accept must run (LanguageModelInvariants), with finite
/// outputs: the shards' weights are finite, so only a hyper-parameter can make them otherwise.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLLMConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    MemoryLimit.set(LanguageModelInvariants.memoryLimit)
    let folder = folders[Int(data[0]) % folders.count]
    ScratchFile(path: "\(folder)/config.json").write(data + 1, count: size - 1)
    let model: ModelFile
    do {
        guard case .tensors(let opened) = try ModelOpener.detect(folder) else {
            fatalError("a Hugging Face folder was read as something else")
        }
        model = opened
    } catch {
        ReaderInvariants.expectFormatError(error)
        return 0
    }
    let built: BuiltModel
    do {
        built = try ModelRegistry.build(model)
    } catch {
        ReaderInvariants.expectFormatError(error)
        return 0
    }
    LanguageModelInvariants.check(built, finiteWeights: true)
    return 0
}
