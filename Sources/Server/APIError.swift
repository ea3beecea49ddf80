import Foundation
import Hummingbird

/// A refusal as OpenAI's API and llama-server write it:
/// `{"error": {"code": 400, "message": "...", "type": "invalid_request_error", "param": "max_tokens"}}`.
/// Every 4xx and 5xx the server sends has this body, so a client's error path reads one shape.
struct APIError: Error, Sendable, CustomStringConvertible {
    var status: HTTPResponse.Status
    var message: String
    var type: String
    var param: String?
    /// Extra response headers (Retry-After on 503).
    var headers: HTTPFields = [:]

    var description: String { message }

    static func invalid(_ message: String, param: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param)
    }

    static func unauthorized(_ message: String) -> APIError {
        APIError(status: .unauthorized, message: message, type: "authentication_error")
    }

    static func notFound(_ message: String) -> APIError {
        APIError(status: .notFound, message: message, type: "not_found_error")
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(status: .contentTooLarge, message: "the request body is larger than \(limit) bytes", type: "invalid_request_error")
    }

    static let loading = APIError(status: .serviceUnavailable, message: "the model is loading", type: "unavailable_error",
                                  headers: [.retryAfter: "1"])

    static func overloaded(queue: Int) -> APIError {
        APIError(status: .serviceUnavailable, message: "every slot is busy and \(queue) requests wait already; retry later",
                 type: "unavailable_error", headers: [.retryAfter: "1"])
    }

    static func server(_ message: String) -> APIError {
        APIError(status: .internalServerError, message: message, type: "server_error")
    }

    private struct Body: Encodable {
        struct Detail: Encodable {
            var code: Int
            var message: String
            var type: String
            var param: String?
        }
        var error: Detail
    }

    var response: Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let body = Body(error: .init(code: status.code, message: message, type: type, param: param))
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: JSONBody.encode(body))))
    }
}

/// JSON in and out of the handlers.
enum JSONBody {
    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        // Every value the server encodes is made of strings, numbers and arrays it built itself.
        return (try? Array(encoder.encode(value))) ?? Array("{}".utf8)
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: encode(value))))
    }

    /// Decodes a request body, turning the decoder's errors into one line that names the field.
    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        let data = Data(buffer.readableBytesView)
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw APIError.invalid(describe(error), param: field(of: error))
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.invalid("the body is not valid JSON: \(error)")
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop(while: { $0 == "." }).description
    }

    private static func field(of error: DecodingError) -> String? {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return context.codingPath.isEmpty ? nil : path(context.codingPath)
        case .keyNotFound(let key, let context):
            return path(context.codingPath + [key])
        @unknown default:
            return nil
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(let type, let context):
            let name = context.codingPath.isEmpty ? "the body" : "'\(path(context.codingPath))'"
            return "\(name) must be \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "'\(path(context.codingPath))' must be \(typeName(type)), not null"
        case .keyNotFound(let key, let context):
            return "'\(path(context.codingPath + [key]))' is required"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return "the body is not valid JSON" + (context.underlyingError.map { ": \(($0 as NSError).localizedDescription)" } ?? "")
            }
            return "'\(path(context.codingPath))' \(context.debugDescription)"
        @unknown default:
            return "the body does not match the request's schema"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is UInt64.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : String(describing: type).hasPrefix("Dictionary") ? "an object" : "of another type"
        }
    }
}
