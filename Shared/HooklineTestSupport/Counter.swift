import Synchronization

/// A count that escaping closures on other threads can share (an `Atomic` cannot be captured).
public final class Counter: Sendable {
    private let count = Atomic<Int>(0)

    public init() {}

    public func increment() {
        self.count.add(1, ordering: .relaxed)
    }

    public var value: Int {
        self.count.load(ordering: .relaxed)
    }
}
