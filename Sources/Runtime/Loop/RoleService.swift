public import ServiceLifecycle

/// A role's loop as a `Service`, so the CLI stops it gracefully on SIGINT/SIGTERM.
///
/// Graceful shutdown asks the loop to stop; the loop then drains, flushes, sets linger and
/// closes its sockets before `run()` returns.
public struct RoleService: Service {
    let name: String
    let body: @Sendable (LoopControl) throws -> Void

    public init(name: String, body: @escaping @Sendable (LoopControl) throws -> Void) {
        self.name = name
        self.body = body
    }

    public func run() async throws {
        let runner = try RoleRunner()
        runner.start(name: name, body)
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await runner.waitUntilFinished()
            } onGracefulShutdown: {
                runner.requestStop()
            }
        } onCancel: {
            runner.requestStop()
        }
    }
}
