import FuzzSupport
import Tokenizers

private let scratch = ScratchFile(extension: "gguf")

/// libFuzzer's entry point: the input as a tokenizer file (.gguf), loaded, then made to encode
/// and decode texts (TokenizerInvariants); a refusal must be a FormatError.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    TokenizerInvariants.run(data, size, in: scratch) { try Tokenizer.load(gguf: $0) }
    return 0
}
