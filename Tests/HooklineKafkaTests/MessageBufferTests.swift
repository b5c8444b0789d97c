import Testing

@testable import HooklineKafka

@Suite("Consumer message buffer")
struct MessageBufferTests {
    @Test("a full buffer waits without polling, but polls once a second (so a rebalance is served) until it has been full for maxWait, then pauses fetching; room again resumes")
    func fullBufferStillPollsOnceASecond() {
        let buffer = MessageBuffer(capacity: 2)
        let start = ContinuousClock.now
        let maxWait = Duration.seconds(10)
        #expect(buffer.nextPollStep(now: start, maxWait: maxWait) == .poll)
        buffer.append(Self.message(0))
        buffer.append(Self.message(1))
        #expect(buffer.nextPollStep(now: start, maxWait: maxWait) == .poll, "the first step while full polls")
        #expect(buffer.nextPollStep(now: start + .milliseconds(500), maxWait: maxWait) == .wait)
        #expect(buffer.nextPollStep(now: start + .milliseconds(999), maxWait: maxWait) == .wait)
        #expect(buffer.nextPollStep(now: start + .seconds(1), maxWait: maxWait) == .poll, "a second later it polls")
        #expect(buffer.nextPollStep(now: start + .milliseconds(1500), maxWait: maxWait) == .wait)
        #expect(buffer.nextPollStep(now: start + .seconds(2), maxWait: maxWait) == .poll)
        #expect(buffer.nextPollStep(now: start + .seconds(10), maxWait: maxWait) == .pauseAndPoll)
        #expect(buffer.nextPollStep(now: start + .seconds(10) + .milliseconds(1), maxWait: maxWait) == .poll, "paused, it polls")
        #expect(buffer.take(maxCount: 2)?.count == 2)
        #expect(buffer.nextPollStep(now: start + .seconds(11), maxWait: maxWait) == .resumeAndPoll)
        #expect(buffer.nextPollStep(now: start + .seconds(11), maxWait: maxWait) == .poll)
    }

    private static func message(_ offset: Int64) -> KafkaConsumerMessage {
        KafkaConsumerMessage(topic: "t", partition: 0, offset: offset, key: nil, value: [], headers: [], timestamp: nil)
    }
}
