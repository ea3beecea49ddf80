import Hummingbird
import Synchronization

/// The request context of the server's routes: Hummingbird's, plus what the access log and
/// metrics read when the response has been written.
struct ServerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let record = RequestRecord()

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// What a handler tells the access log about its request: the tokens it read and made.
final class RequestRecord: Sendable {
    private let tokens = Mutex<(prompt: Int, generated: Int)>((0, 0))

    func setTokens(prompt: Int, generated: Int) {
        tokens.withLock { $0 = (prompt, generated) }
    }

    var tokenCounts: (prompt: Int, generated: Int) { tokens.withLock { $0 } }
}
