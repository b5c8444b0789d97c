import Synchronization

extension Task where Failure == Never {
    /// The task's value, or nil once `deadline` has passed, whichever comes first. Unlike a task
    /// group, this does not wait for the task to end, nor cancel it: other waiters may still want
    /// it (a topic being created), or it cannot be cancelled (a lookup blocked in `getaddrinfo`)
    /// and finishes on its own.
    package func value(before deadline: ContinuousClock.Instant) async -> Success? {
        await withUnsafeContinuation { continuation in
            let pending = Mutex<UnsafeContinuation<Success?, Never>?>(continuation)
            let finish: @Sendable (Success?) -> Void = { value in
                pending.withLock { $0.take() }?.resume(returning: value)
            }
            let timer = Task<Void, Never> {
                try? await Task<Never, Never>.sleep(until: deadline, clock: .continuous)
                finish(nil)
            }
            Task<Void, Never> {
                finish(await self.value)
                timer.cancel()
            }
        }
    }
}
