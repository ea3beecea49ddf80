import ArgumentParser
import Foundation
import Formats

/// The SHA-256 of a conversion's source files, computed on a thread of its own from the moment
/// the source is open, so that hashing a multi-GB checkpoint overlaps the packing instead of
/// following it.
final class SourceHashing: @unchecked Sendable {
    // Written once by the hashing thread before `done` is signalled, read after the wait.
    private var result: Result<XNORSource, any Error>?
    private let done = DispatchSemaphore(value: 0)

    init(format: String, files: [(path: String, name: String)]) {
        Thread.detachNewThread { [self] in
            result = Result { try XNORSource.hashing(format: format, files: files) }
            done.signal()
        }
    }

    /// The hashes, once every file is read; the hashing thread's error if one failed.
    func wait() throws -> XNORSource {
        done.wait()
        done.signal()
        guard let result else { throw ValidationError("internal error: the source hashing ended without a result") }
        return try result.get()
    }
}
