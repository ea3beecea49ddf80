import Glibc
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// `xnor serve`: Hummingbird on one address, the model loaded beside it (GET /health answers
/// 503 until it is ready), and a graceful drain on SIGTERM or SIGINT: the server stops
/// accepting, lets running requests and streams finish for up to the configured timeout, then
/// stops them and returns.
public enum XNORServer {
    /// Serves until a signal. `load` runs on a thread of its own once the port is bound;
    /// `listening` gets the bound address (the port the system chose for port 0). An error of
    /// `load` or of the bind ends the server with it.
    public static func run(configuration: ServerConfiguration, logger: Logger,
                           load: @escaping @Sendable () throws -> ServedModel,
                           listening: @escaping @Sendable (_ host: String, _ port: Int) -> Void) async throws {
        let metrics = ServerMetrics(slotCount: configuration.parallel)
        let state = ModelState()
        let timeout = Duration.seconds(configuration.timeoutSeconds)

        let router = Router(context: ServerContext.self)
        router.add(middleware: AccessLog(logger: logger, metrics: metrics))
        if let key = configuration.apiKey { router.add(middleware: APIKeyCheck(key: Array(key.utf8))) }
        Routes(state: state, metrics: metrics, bodies: RequestBodyReader(maximumBytes: configuration.maximumBodyBytes, timeout: timeout))
            .register(on: router)

        let host = configuration.host
        // The model is loaded once the port is bound: a port in use fails at once, not after
        // the load.
        let (bound, boundSignal) = AsyncStream.makeStream(of: Void.self)
        // The idle timeout counts from the connection or the last response to the next request's
        // complete head, so a client that sends its headers a byte at a time is cut off too.
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: .seconds(Int64(configuration.timeoutSeconds)))),
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "xnor"),
            onServerRunning: { channel in
                listening(host, channel.localAddress?.port ?? configuration.port)
                boundSignal.finish()
            },
            logger: logger
        )
        let loader = ModelLoader(state: state, configuration: configuration, metrics: metrics, logger: logger, bound: bound, load: load)
        var group = ServiceGroupConfiguration(services: [.init(service: loader), .init(service: app)],
                                              gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = timeout
        do {
            try await ServiceGroup(configuration: group).run()
        } catch let error as IOError {
            throw ServerError(description: "cannot listen on \(host):\(configuration.port): \(String(cString: strerror(error.errnoCode)))")
        }
    }
}

/// Why the server could not run, in one line.
public struct ServerError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Loads the model off the server's threads, then waits for the shutdown: the group ends
/// when any service returns.
private struct ModelLoader: Service {
    let state: ModelState
    let configuration: ServerConfiguration
    let metrics: ServerMetrics
    let logger: Logger
    let bound: AsyncStream<Void>
    let load: @Sendable () throws -> ServedModel

    func run() async throws {
        for await _ in bound {}
        try Task.checkCancellation()
        let served = try await Engine.run(load)
        let engine = Engine(served: served, configuration: configuration, metrics: metrics)
        state.set(engine)
        logger.info("model \(served.id) ready: \(configuration.parallel) slots of \(engine.contextLength) tokens, \(configuration.threads) threads")
        try? await gracefulShutdown()
    }
}
