#if canImport(Glibc)
import Glibc
#endif
import Formats
import FuzzSupport

/// The scratch folder: a valid shard `model.safetensors` (fixtures/hf/tiny-single's, copied
/// once) and, per input, config.json and model.safetensors.index.json.
private let folder: String = {
    let path = FixtureFile.scratchFolder("hf")
    // The fuzzer runs from the repository root (tools/fuzz); XNOR_FUZZ_SHARD overrides.
    let source = getenv("XNOR_FUZZ_SHARD").map { String(cString: $0) } ?? "fixtures/hf/tiny-single/model.safetensors"
    FixtureFile.copy(source, to: "\(path)/model.safetensors", hint: "run from the repository root or set XNOR_FUZZ_SHARD")
    return path
}()
private let config = ScratchFile(path: "\(folder)/config.json")
private let index = ScratchFile(path: "\(folder)/model.safetensors.index.json")

/// libFuzzer's entry point: the input as a Hugging Face folder. The first two bytes (little
/// endian) are the length of config.json; the rest after it is model.safetensors.index.json,
/// left out when empty (the folder then reads as a single model.safetensors).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHFFolder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let declared = Int(data[0]) | Int(data[1]) << 8
    let configCount = min(declared, size - 2)
    config.write(data + 2, count: configCount)
    let rest = size - 2 - configCount
    if rest > 0 {
        index.write(data + 2 + configCount, count: rest)
    } else {
        index.remove()
    }
    do {
        switch try ModelOpener.detect(folder) {
        case .tensors(let model):
            ReaderInvariants.check(model)
        case .xnor, .onnx:
            fatalError("a Hugging Face folder was read as something else")
        }
    } catch {
        ReaderInvariants.expectFormatError(error)
    }
    return 0
}
