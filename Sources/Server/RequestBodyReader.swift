import Hummingbird
import NIOCore

/// Reads a request's body whole, within a size and a time: a body past the size is refused
/// with 413 before it is read (by its Content-Length) or as soon as it passes the size, and
/// one that trickles in slower than the timeout with 408.
struct RequestBodyReader: Sendable {
    let maximumBytes: Int
    let timeout: Duration

    func read(_ request: Request) async throws -> ByteBuffer {
        try await read(request.body, headers: request.headers)
    }

    func read(_ body: RequestBody, headers: HTTPFields) async throws -> ByteBuffer {
        if let declared = headers[.contentLength].flatMap({ Int($0) }), declared > maximumBytes {
            throw APIError.tooLarge(maximumBytes)
        }
        let limit = maximumBytes, timeout = timeout
        return try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                do {
                    return try await body.collect(upTo: limit)
                } catch is NIOTooManyBytesError {
                    throw APIError.tooLarge(limit)
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let buffer = first else {
                throw APIError(status: .requestTimeout, message: "the request body did not arrive within \(timeout)", type: "invalid_request_error")
            }
            return buffer
        }
    }
}
