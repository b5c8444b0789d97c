import Foundation
import Synchronization

/// A dedicated OS thread that calls `poll` until stopped. librdkafka's callbacks
/// (delivery reports, rebalances, logs) run on it, never on Swift's cooperative pool.
final class PollThread: Sendable {
    private let running = Atomic<Bool>(true)
    private let finished = DispatchSemaphore(value: 0)

    /// Starts the thread. `poll` should block for a bounded time (e.g. 100 ms) and return.
    init(name: String, poll: @escaping @Sendable () -> Void) {
        startThread(named: name) { [self] in
            while self.running.load(ordering: .acquiring) {
                poll()
            }
            self.finished.signal()
        }
    }

    /// Asks the thread to stop and waits until its last `poll` returned. Idempotent.
    func stop() {
        if self.running.exchange(false, ordering: .acquiringAndReleasing) {
            self.finished.wait()
        }
    }
}

/// Starts an OS thread that runs `body`, named so that `top -H`, `perf` and `/proc/<pid>/task`
/// show it beside librdkafka's own `rdk:` threads instead of under its creator's name (such as
/// Dispatch's `…root.default-qos`). The thread names itself: Foundation on Linux does not pass on
/// a name given before `start()`, and Linux refuses a name longer than 15 bytes.
func startThread(named name: String, _ body: @escaping @Sendable () -> Void) {
    precondition(name.utf8.count <= 15, "a thread name longer than Linux keeps: \(name)")
    Thread {
        Thread.current.name = name
        body()
    }.start()
}
