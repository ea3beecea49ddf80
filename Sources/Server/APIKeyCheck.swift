import Hummingbird

/// `--api-key`: every endpoint but /health needs `Authorization: Bearer KEY`, as
/// llama-server's `--api-key` does.
struct APIKeyCheck: RouterMiddleware {
    typealias Context = ServerContext
    let key: [UInt8]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path == "/health" { return try await next(request, context) }
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("an API key is required: send Authorization: Bearer KEY")
        }
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), Self.constantTimeEqual(Array(header.utf8.dropFirst(prefix.utf8.count)), key) else {
            throw APIError.unauthorized("the API key is not valid")
        }
        return try await next(request, context)
    }

    /// Equal bytes, in a time that depends only on the lengths: a guess learns nothing from
    /// how long a refusal took about how many of its bytes were right.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count) | UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
