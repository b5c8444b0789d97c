import Foundation
import Synchronization

/// The calls into one librdkafka handle that are under way. librdkafka does not count references
/// to its handles, so whoever destroys one must first know that no other thread is inside a call
/// with it, and that none starts after.
///
/// A handle is *open*, then *closing* (calls that may run while it shuts down are still
/// admitted: a flush, a purge, a last commit), then *retired*, after which no call is.
final class HandleCalls: Sendable {
    enum Phase { case open, closing, retired }

    private let state = Mutex<(phase: Phase, calls: Int)>((.open, 0))

    /// Runs `body` as a counted call: nil, without running it, once the handle is retired, or
    /// once it is closing unless `whileClosing`.
    func run<T, E: Error>(whileClosing: Bool = true, _ body: () throws(E) -> T) throws(E) -> T? {
        let admitted = self.state.withLock { state in
            guard state.phase == .open || (whileClosing && state.phase == .closing) else { return false }
            state.calls += 1
            return true
        }
        guard admitted else { return nil }
        defer { self.state.withLock { $0.calls -= 1 } }
        return try body()
    }

    /// Moves an open handle to closing. False when it had left open already: the caller that
    /// got true is the one that retires it.
    func close() -> Bool {
        self.state.withLock { state in
            guard state.phase == .open else { return false }
            state.phase = .closing
            return true
        }
    }

    /// Blocks until no call is under way, then marks the handle retired, so that none starts
    /// after and the caller may destroy it. False, leaving it as it was, when calls are still
    /// under way after `limit`.
    func retireWhenIdle(within limit: Duration) -> Bool {
        let deadline = ContinuousClock.now + limit
        while true {
            let idle = self.state.withLock { state in
                guard state.calls == 0 else { return false }
                state.phase = .retired
                return true
            }
            if idle { return true }
            guard ContinuousClock.now < deadline else { return false }
            Thread.sleep(forTimeInterval: 0.001)
        }
    }
}
