import HooklineKafka
import Testing

@testable import HooklineConsumerKit

@Suite("The batch gate between the runner and a rebalance")
struct BatchGateTests {
    let orders0 = TopicPartition(topic: "webhooks.shop.orders.create", partition: 0)
    let orders1 = TopicPartition(topic: "webhooks.shop.orders.create", partition: 1)

    @Test("a revoke between taking a batch and entering the gate does not wait, and entering names its partitions for the runner to leave")
    func revokeWhileTaking() async {
        let gate = BatchGate()
        gate.expectBatch()
        // No batch in hand yet: the revoke returns at once (it would hang this test otherwise).
        await gate.revoke([self.orders0])
        #expect(gate.enter() == [self.orders0])
        gate.leave()

        // The next batch starts afresh.
        gate.expectBatch()
        #expect(gate.enter() == [])
        gate.leave()
    }

    @Test("a partition revoked and assigned back while a batch is taken keeps its records in the batch: dropped, they would never be fetched again")
    func revokedAndAssignedBackWhileTaking() async {
        let gate = BatchGate()
        gate.expectBatch()
        await gate.revoke([self.orders0, self.orders1])
        gate.assigned([self.orders0])
        #expect(gate.enter() == [self.orders1])
        gate.leave()
    }

    @Test("a revoke while a batch is in hand waits for it to be left, and marks its partitions in the meantime")
    func revokeWhileBusy() async throws {
        let gate = BatchGate()
        gate.expectBatch()
        #expect(gate.enter() == [])
        let revoked = Task { await gate.revoke([self.orders1]) }
        try await Task.sleep(for: .milliseconds(100))
        #expect(gate.isRevoked(self.orders1))
        #expect(!gate.isRevoked(self.orders0))
        gate.leave()
        await revoked.value
        // A revoke outside a batch's taking is not reported to the next one.
        gate.expectBatch()
        #expect(gate.enter() == [])
        #expect(!gate.isRevoked(self.orders1))
        gate.leave()
    }
}
