import Synchronization
import Testing

@testable import HooklineKafka

@Suite("Delivery deadlines")
struct DeliveryDeadlinesTests {
    @Test("sends fail at their deadlines in deadline order, one whose timeout started earlier first though tracked last; a completed one never fails, and each timeout keeps its own order")
    func expireInDeadlineOrder() {
        let deadlines = DeliveryDeadlines()
        let failed = Mutex<[String]>([])
        func delivery(_ name: String) -> Delivery {
            Delivery(
                topic: name,
                completion: .callback { result in
                    if case .failure(let error) = result, error.code == .messageTimedOut { failed.withLock { $0.append(name) } }
                },
                acknowledgements: AcknowledgementCount()
            )
        }
        let start = ContinuousClock.now
        let (a, b, c, d, e) = (delivery("a"), delivery("b"), delivery("c"), delivery("d"), delivery("e"))
        deadlines.track(a, timeout: .seconds(1), since: start + .milliseconds(100))  // due at 1.1 s
        deadlines.track(b, timeout: .seconds(1), since: start + .milliseconds(200))  // 1.2 s, acknowledged below
        deadlines.track(d, timeout: .seconds(5), since: start)  // 5 s, a lane of its own
        deadlines.track(c, timeout: .seconds(1), since: start)  // 1 s: a request that waited before it was sent
        deadlines.track(e, timeout: .seconds(1), since: start + .milliseconds(150))  // 1.15 s, between a and b
        b.complete(.success(KafkaDeliveryReport(topic: "b", partition: 0, offset: 0)))

        deadlines.expire(now: start + .milliseconds(999))
        #expect(failed.withLock { $0 } == [])
        deadlines.expire(now: start + .seconds(1))
        #expect(failed.withLock { $0 } == ["c"])
        deadlines.expire(now: start + .milliseconds(1150))
        #expect(failed.withLock { $0 } == ["c", "a", "e"])
        deadlines.expire(now: start + .milliseconds(4999))
        #expect(failed.withLock { $0 } == ["c", "a", "e"])
        deadlines.expire(now: start + .seconds(5))
        #expect(failed.withLock { $0 } == ["c", "a", "e", "d"])
        #expect(a.isCompleted && b.isCompleted && c.isCompleted && d.isCompleted && e.isCompleted)
    }
}
