import Hummingbird
import Logging

/// One log line per request once its response is written (a stream's included): method,
/// path, status, tokens and milliseconds; the same request counted in the metrics. Errors
/// thrown by the routes become OpenAI-style JSON here, so every 4xx and 5xx has that body.
struct AccessLog: RouterMiddleware {
    typealias Context = ServerContext
    let logger: Logger
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = error.response
        } catch let error as HTTPError {
            var refusal = Self.apiError(error)
            if error.status == .notFound, error.body == nil {
                refusal.message = "no endpoint \(request.method.rawValue) \(request.uri.path)"
            }
            response = refusal.response
        } catch {
            response = APIError.server("\(error)").response
        }
        let status = response.status.code
        let endpoint = context.endpointPath ?? "unmatched"
        let method = request.method.rawValue, path = request.uri.path
        let record = context.record, logger = logger, metrics = metrics
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            var outcome = ""
            do {
                try await body.write(writer)
            } catch {
                outcome = " (client gone: \(error))"
                Self.log(logger, metrics, method, path, endpoint, status, record, start, outcome)
                throw error
            }
            Self.log(logger, metrics, method, path, endpoint, status, record, start, outcome)
        }
        return response
    }

    private static func log(_ logger: Logger, _ metrics: ServerMetrics, _ method: String, _ path: String, _ endpoint: String,
                            _ status: Int, _ record: RequestRecord, _ start: ContinuousClock.Instant, _ outcome: String) {
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let tokens = record.tokenCounts
        metrics.request(endpoint: endpoint, status: status, duration: elapsed)
        logger.info("\(method) \(path) \(status) prompt=\(tokens.prompt) generated=\(tokens.generated) \(String(format: "%.1f", ms)) ms\(outcome)")
    }

    /// Hummingbird's own errors (no route, body too large) in the OpenAI shape.
    static func apiError(_ error: HTTPError) -> APIError {
        let status = error.status
        let type = switch status.code {
        case 404, 405: "not_found_error"
        case 401: "authentication_error"
        case 500...: "server_error"
        default: "invalid_request_error"
        }
        let message = error.body ?? (status.code == 404 ? "no such endpoint" : status.reasonPhrase)
        return APIError(status: status, message: message, type: type, param: nil, headers: error.headers)
    }
}
