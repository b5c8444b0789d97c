import Synchronization

/// A count that escaping closures on other threads can share (an `Atomic` cannot be captured).
package final class Counter: Sendable {
    private let count = Atomic<Int>(0)

    package init() {}

    package func increment() {
        self.count.add(1, ordering: .relaxed)
    }

    package var value: Int {
        self.count.load(ordering: .relaxed)
    }
}
