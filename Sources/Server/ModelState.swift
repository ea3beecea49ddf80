import Synchronization

/// The model as the routes see it: loading until the engine is made, then ready.
final class ModelState: Sendable {
    private let engine = Mutex<Engine?>(nil)

    /// The engine, or `APIError.loading` (503) before it is ready.
    func ready() throws -> Engine {
        guard let engine = engine.withLock({ $0 }) else { throw APIError.loading }
        return engine
    }

    var isReady: Bool { engine.withLock { $0 != nil } }

    func set(_ ready: Engine) {
        engine.withLock { $0 = ready }
    }
}
