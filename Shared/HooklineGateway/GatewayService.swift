import Logging
import ServiceLifecycle
import Synchronization

/// The gateway's services (its server, and the reloader when there is one) and its publisher's
/// lifetime. When a graceful shutdown begins, the producer starts sending what it holds: the
/// requests the server still holds await their records' acknowledgements, which should not also
/// wait out `linger.ms` (a record lingering past the grace period would be written, but its
/// request cut off unanswered and delivered again).
/// Once the services have stopped, the producer is flushed and released, within what is left
/// of the grace period that began at the signal: the whole shutdown stays within the grace period
/// plus the service group's 2 s, rather than a second grace period for the flush when the
/// requests took the first (a broker gone, its records never acknowledged).
final class GatewayService: Service {
    let services: ServiceGroup
    let publisher: WebhookPublisher
    let flushTimeout: Duration
    /// Run at the signal before the records are flushed: the server tells its connections.
    let beforeFlushing: @Sendable () -> Void
    private let signalled = Mutex<ContinuousClock.Instant?>(nil)

    init(services: [any Service], publisher: WebhookPublisher, flushTimeout: Duration, beforeFlushing: @escaping @Sendable () -> Void, logger: Logger) {
        self.services = ServiceGroup(configuration: .init(services: services, logger: logger))
        self.publisher = publisher
        self.flushTimeout = flushTimeout
        self.beforeFlushing = beforeFlushing
    }

    func run() async throws {
        do {
            try await withGracefulShutdownHandler {
                try await self.services.run()
            } onGracefulShutdown: {
                self.signalled.withLock { $0 = .now }
                // The connections hear of the shutdown first: an acknowledgement the flush brings
                // reaches its connection after the news (both are tasks on its event loop), and is
                // answered with Connection: close. The other way round, a fast broker's came first
                // now and then, answered to be kept alive by a server about to close it.
                self.beforeFlushing()
                self.publisher.startFlushing(timeout: self.flushTimeout)
            }
        } catch {
            await self.publisher.shutdown(timeout: self.remainingFlushTime)
            throw error
        }
        await self.publisher.shutdown(timeout: self.remainingFlushTime)
    }

    /// The grace period left since the signal (none once it has passed), or all of it without one.
    private var remainingFlushTime: Duration {
        guard let signalled = self.signalled.withLock({ $0 }) else { return self.flushTimeout }
        return max(.zero, self.flushTimeout - (ContinuousClock.now - signalled))
    }
}
