import Synchronization

/// A token bucket: `perSecond` requests a second on average, bursts up to one second's worth.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var last: ContinuousClock.Instant
    }

    private let bucket: Mutex<Bucket>
    private let perSecond: Double

    init(perSecond: Int) {
        self.perSecond = Double(max(perSecond, 1))
        self.bucket = Mutex(Bucket(tokens: Double(max(perSecond, 1)), last: .now))
    }

    /// Takes a token if there is one.
    func tryAcquire(now: ContinuousClock.Instant = .now) -> Bool {
        self.bucket.withLock { bucket in
            let elapsed = bucket.last.duration(to: now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(self.perSecond, bucket.tokens + seconds * self.perSecond)
            bucket.last = now
            guard bucket.tokens >= 1 else { return false }
            bucket.tokens -= 1
            return true
        }
    }
}
