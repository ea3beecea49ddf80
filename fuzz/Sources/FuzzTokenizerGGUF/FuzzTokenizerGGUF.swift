import FuzzSupport
import Tokenizers

private let scratch = ScratchFile(extension: "gguf")

/// libFuzzer's entry point: the input as a tokenizer file (.gguf), loaded, then made to encode
/// and decode texts (TokenizerInvariants); a refusal must be a FormatError.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    scratch.write(data, count: size)
    defer { scratch.remove() }
    do {
        let tokenizer = try Tokenizer.load(gguf: scratch.path)
        TokenizerInvariants.check(tokenizer, tail: TokenizerInvariants.tail(data, size))
    } catch {
        TokenizerInvariants.expectRefusal(error)
    }
    return 0
}
