import Foundation
import Synchronization

/// A dedicated OS thread that calls `poll` until stopped. librdkafka's callbacks
/// (delivery reports, rebalances, logs) run on it, never on Swift's cooperative pool.
final class PollThread: Sendable {
    private let running = Atomic<Bool>(true)
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the thread. `poll` should block for a bounded time (e.g. 100 ms) and return.
    init(name: String, poll: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            while self.running.load(ordering: .acquiring) {
                poll()
            }
            self.finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Asks the thread to stop and waits until its last `poll` returned. Idempotent.
    func stop() {
        if self.running.exchange(false, ordering: .acquiringAndReleasing) {
            self.finished.wait()
        }
    }
}
