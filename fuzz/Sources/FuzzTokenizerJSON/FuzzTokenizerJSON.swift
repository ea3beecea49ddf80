import FuzzSupport
import Tokenizers

private let scratch = ScratchFile(extension: "json")

/// libFuzzer's entry point: the input as a tokenizer file (.json), loaded, then made to encode
/// and decode texts (TokenizerInvariants); a refusal must be a FormatError.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    scratch.write(data, count: size)
    defer { scratch.remove() }
    do {
        let tokenizer = try Tokenizer.load(path: scratch.path)
        TokenizerInvariants.check(tokenizer, tail: TokenizerInvariants.tail(data, size))
    } catch {
        TokenizerInvariants.expectRefusal(error)
    }
    return 0
}
