import FuzzSupport
import Tokenizers

private let scratch = ScratchFile(extension: "json")

/// libFuzzer's entry point: the input as a tokenizer file (.json), loaded, then made to encode
/// and decode texts (TokenizerInvariants); a refusal must be a FormatError.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    TokenizerInvariants.run(data, size, in: scratch) { try Tokenizer.load(path: $0) }
    return 0
}
