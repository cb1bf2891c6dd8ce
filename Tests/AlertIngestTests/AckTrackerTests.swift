@testable import AlertIngest
import Synchronization
import Testing

/// The batched-ack bookkeeping (docs/ARCHITECTURE.md, Durability, step 2):
/// on an AckAll consumer one ack covers every lower stream sequence, so it
/// must never go past a sequence whose effect is not recorded.
@Suite("Batched acks: AckLedger and AckTracker")
struct AckTrackerTests {
    /// Registers stream sequences with consumer sequences 1, 2, … in order.
    func ledger(_ sequences: ClosedRange<UInt64>) -> AckLedger {
        var ledger = AckLedger()
        for sequence in sequences { ledger.register(sequence: sequence, deliverySequence: sequence, reply: "r\(sequence)") }
        return ledger
    }

    @Test("acks the top of the contiguous finished run, never past an unfinished sequence")
    func contiguity() {
        var ledger = ledger(1...5)
        let result1 = ledger.nextAck()
        #expect(result1?.sequence == nil)
        for sequence: UInt64 in [1, 2, 4, 5] { ledger.done(sequence: sequence) }
        let result2 = ledger.nextAck()
        #expect(result2?.reply == "r2")
        let result3 = ledger.nextAck()
        #expect(result3?.sequence == nil)
        ledger.done(sequence: 3)
        let result4 = ledger.nextAck()
        #expect(result4?.reply == "r5")
        #expect(ledger.floor == 5)
        #expect(ledger.count == 0)
    }

    @Test("done out of order: nothing until the lowest is done, then everything in one ack")
    func outOfOrder() {
        var ledger = ledger(1...100)
        for sequence in (2...100).reversed() { ledger.done(sequence: UInt64(sequence)) }
        let result5 = ledger.nextAck()
        #expect(result5?.sequence == nil)
        ledger.done(sequence: 1)
        let ack = ledger.nextAck()
        #expect(ack?.sequence == 100)
        #expect(ack?.reply == "r100")
    }

    @Test("a redelivered lower sequence: its done copy does not release it while the first delivery is held")
    func redeliveryWhileHeld() {
        var ledger = ledger(1...3)
        ledger.done(sequence: 2)
        ledger.done(sequence: 3)
        // Sequence 1 is held (its effect not recorded); ack_wait redelivers it
        // and the copy is absorbed as a duplicate at once.
        let result6 = ledger.register(sequence: 1, deliverySequence: 4, reply: "r1'")
        #expect(result6)
        ledger.done(sequence: 1)
        let result7 = ledger.nextAck()
        #expect(result7?.sequence == nil)
        // The held delivery is recorded.
        ledger.done(sequence: 1)
        let result8 = ledger.nextAck()
        #expect(result8?.sequence == 3)
    }

    @Test("an abandoned delivery blocks the floor until a redelivery of it is done; acks never reuse a consumer sequence the server passed")
    func abandonedThenRedelivered() {
        var ledger = ledger(1...2)
        ledger.abandon(sequence: 1)
        ledger.done(sequence: 2)
        let result9 = ledger.nextAck()
        #expect(result9?.sequence == nil)
        ledger.register(sequence: 1, deliverySequence: 3, reply: "r1'")
        ledger.done(sequence: 1)
        let ack = ledger.nextAck()
        #expect(ack?.sequence == 2)
        #expect(ledger.ackedDeliverySequence == 2)

        // Acked with a redelivery's higher consumer sequence first: a lower
        // one would be ignored by nats-server, so the ledger waits for the
        // next delivery of that sequence instead of sending it.
        var other = self.ledger(1...2)
        other.abandon(sequence: 1)
        other.register(sequence: 1, deliverySequence: 3, reply: "r1'")
        other.done(sequence: 1)
        let result10 = other.nextAck()
        #expect(result10?.reply == "r1'")
        other.done(sequence: 2)
        let result11 = other.nextAck()
        #expect(result11?.sequence == nil)
        other.register(sequence: 2, deliverySequence: 4, reply: "r2'")
        other.done(sequence: 2)
        let result12 = other.nextAck()
        #expect(result12?.reply == "r2'")
    }

    @Test("a redelivery of an acked sequence is ignored; a gap in consumer sequences is reported")
    func belowFloorAndGaps() {
        var ledger = ledger(1...2)
        ledger.done(sequence: 1)
        ledger.done(sequence: 2)
        let result13 = ledger.nextAck()
        #expect(result13?.sequence == 2)
        let result14 = ledger.register(sequence: 1, deliverySequence: 3, reply: "late")
        #expect(result14)
        ledger.done(sequence: 1)
        #expect(ledger.count == 0)
        let result15 = ledger.nextAck()
        #expect(result15?.sequence == nil)
        let contiguous = ledger.register(sequence: 5, deliverySequence: 6, reply: "after a lost delivery")
        #expect(!contiguous)
        var resumed = AckLedger(deliveredBefore: 41)
        let result16 = resumed.register(sequence: 90, deliverySequence: 42, reply: "r90")
        #expect(result16)
    }

    @Test("the flush at shutdown acks only what is done, and nothing after; a closed gate sends nothing")
    func shutdownFlush() {
        let sent = Mutex<[String]>([])
        let tracker = AckTracker(ackWait: .seconds(30), interval: .seconds(60), send: { reply in sent.withLock { $0.append(reply) } })
        for sequence: UInt64 in 1...4 { tracker.register(sequence: sequence, deliverySequence: sequence, reply: "r\(sequence)") }
        tracker.done(sequence: 1)
        tracker.done(sequence: 2)
        tracker.done(sequence: 4)
        tracker.close()
        #expect(sent.withLock { $0 } == ["r2"])
        tracker.done(sequence: 3)
        tracker.flush()
        #expect(sent.withLock { $0 } == ["r2"])

        let gated = Mutex<[String]>([])
        let suspended = AckTracker(ackWait: .seconds(30), interval: .seconds(60), send: { reply in gated.withLock { $0.append(reply) } })
        suspended.setGate { false }
        suspended.register(sequence: 1, deliverySequence: 1, reply: "r1")
        suspended.done(sequence: 1)
        suspended.close()
        #expect(gated.withLock { $0 }.isEmpty)
    }

    @Test("a delivery abandoned at max_deliver (never redelivered) does not hold the floor; one abandoned earlier does")
    func abandonedAtMaxDeliver() {
        let sent = Mutex<[String]>([])
        let tracker = AckTracker(ackWait: .seconds(30), interval: .seconds(60), maxDeliver: 3, send: { reply in sent.withLock { $0.append(reply) } })
        for sequence: UInt64 in 1...3 { tracker.register(sequence: sequence, deliverySequence: sequence, reply: "r\(sequence)") }
        tracker.abandon(sequence: 1, deliveryCount: 2)
        tracker.done(sequence: 2)
        tracker.done(sequence: 3)
        tracker.flush()
        #expect(sent.withLock { $0 }.isEmpty, "sequence 1 comes back: nothing may be acked past it")
        // Its redelivery, the last one the server makes, is refused again.
        tracker.register(sequence: 1, deliverySequence: 4, reply: "r1'")
        tracker.abandon(sequence: 1, deliveryCount: 3)
        tracker.flush()
        #expect(sent.withLock { $0 } == ["r3"])
        #expect(tracker.floor == 3)
    }

    @Test("the gate is called on every flush of a long run and stays one call: 200,000 flushes each ack their event (a gate read back from a Mutex was wrapped again per flush, until the stack overflowed)")
    func gateAcrossManyFlushes() {
        let acked = Atomic<Int>(0)
        let checks = Atomic<Int>(0)
        let tracker = AckTracker(ackWait: .seconds(30), interval: .seconds(60), send: { _ in acked.add(1, ordering: .relaxed) })
        tracker.setGate {
            checks.add(1, ordering: .relaxed)
            return true
        }
        let flushes = 200_000
        for sequence in 1...UInt64(flushes) {
            tracker.register(sequence: sequence, deliverySequence: sequence, reply: "r")
            tracker.done(sequence: sequence)
            tracker.flush()
        }
        #expect(acked.load(ordering: .relaxed) == flushes)
        #expect(checks.load(ordering: .relaxed) >= flushes)
        #expect(tracker.floor == UInt64(flushes))
    }

    @Test("a batch of finished deliveries is acked at once, without waiting for the interval")
    func batchThreshold() {
        let sent = Mutex<[String]>([])
        let tracker = AckTracker(ackWait: .seconds(30), interval: .seconds(60), batch: 8, send: { reply in sent.withLock { $0.append(reply) } })
        for sequence: UInt64 in 1...8 { tracker.register(sequence: sequence, deliverySequence: sequence, reply: "r\(sequence)") }
        for sequence: UInt64 in 1...7 { tracker.done(sequence: sequence) }
        #expect(sent.withLock { $0 }.isEmpty)
        tracker.done(sequence: 8)
        #expect(sent.withLock { $0 } == ["r8"])
        #expect(tracker.floor == 8)
    }

    @Test("stream and consumer sequences are read from both reply subject forms")
    func replySubjects() {
        let short = AckReply.sequences("$JS.ACK.EVENTS.alerter.1.42.17.1700000000000000000.3")
        #expect(short.map { [$0.stream, $0.consumer] } == [42, 17])
        let long = AckReply.sequences("$JS.ACK.hub.ACCHASH.EVENTS.alerter.2.42.17.1700000000000000000.3.token")
        #expect(long.map { [$0.stream, $0.consumer] } == [42, 17])
        #expect(AckReply.sequences("_INBOX.abc")?.stream == nil)
        #expect(AckReply.sequences("$JS.ACK.EVENTS.alerter.1.x.17.1.3")?.stream == nil)
    }
}
