import AlertCore
@testable import AlertIngest
import Dispatch
import Foundation
import Logging
import Synchronization
import Testing

/// Transitions reach the engine in the order the store made them, a full
/// hand-off never loses one after the store changed, and a FIRING delivered
/// again after its RESOLVED does not bring the alert back.
@Suite("Transition order and hand-off")
struct TransitionOrderTests {
    @Test("a full hand-off buffer refuses the event before the store changes; after a drain it is applied")
    func fullBufferRefusesBeforeTheStore() {
        let store = AlertStore()
        let buffer = AlertTransitionBuffer(capacity: 1)
        let ingestor = EventIngestor(store: store, transitions: buffer, limits: .default,
                                     logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let first = AlertEvent(alertType: "disk_full", source: "a")
        let second = AlertEvent(alertType: "disk_full", source: "b")
        ingestor.apply(first)
        ingestor.apply(second)
        // The second transition had no room: the store must not hold an alert the engine never hears of.
        #expect(store.activeCount == 1)
        #expect(buffer.droppedCount == 1)
        #expect(buffer.drainNow().count == 1)
        ingestor.apply(second)
        #expect(store.activeCount == 2)
        guard case .fired(let alert) = buffer.drainNow().first else {
            Issue.record("the event applied again must fire")
            return
        }
        #expect(alert.labels["source"] == "b")
    }

    @Test("FIRING and RESOLVED for one dedup_key from two threads reach the consumer in the store's order")
    func orderAcrossThreads() {
        let store = AlertStore()
        let buffer = AlertTransitionBuffer()
        let ingestor = EventIngestor(store: store, transitions: buffer, limits: .default,
                                     logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let rounds = 20_000
        DispatchQueue.concurrentPerform(iterations: 2) { thread in
            for _ in 0..<rounds {
                let status: EventStatus = thread == 0 ? .firing : .resolved
                ingestor.apply(AlertEvent(alertType: "shared", status: status, source: "thread-\(thread)", dedupKey: "one-incident"))
            }
        }
        // Whatever interleaving happened, the consumer's sequence must alternate fired, resolved, fired, …
        // and end in the state the store is in.
        var firing = false
        var violations = 0
        var count = 0
        for transition in buffer.drainNow() {
            count += 1
            switch transition {
            case .fired: if firing { violations += 1 }; firing = true
            case .resolved: if !firing { violations += 1 }; firing = false
            default: break
            }
        }
        #expect(count > 0)
        #expect(violations == 0)
        #expect(firing == (store.activeCount == 1))
    }

    @Test("a FIRING that occurred before its alert's resolve (redelivered) is ignored; a later one fires again")
    func staleFiringIgnored() {
        let store = AlertStore()
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        func event(_ status: EventStatus, at t: Double) -> AlertEvent {
            AlertEvent(alertType: "disk_full", status: status, source: "a", occurredAtUnixMs: Int64((t0.timeIntervalSince1970 + t) * 1000))
        }
        guard case .fired = store.apply(event(.firing, at: 0), receivedAt: t0) else {
            Issue.record("first FIRING must fire")
            return
        }
        guard case .resolved = store.apply(event(.resolved, at: 10), receivedAt: t0 + 10) else {
            Issue.record("RESOLVED must resolve")
            return
        }
        // JetStream redelivers the first FIRING (its ack was lost).
        guard case .staleFiring = store.apply(event(.firing, at: 0), receivedAt: t0 + 40) else {
            Issue.record("the redelivered FIRING must be stale")
            return
        }
        #expect(store.activeCount == 0)
        // A new incident after the resolve fires again.
        guard case .fired = store.apply(event(.firing, at: 50), receivedAt: t0 + 50) else {
            Issue.record("a FIRING after the resolve must fire")
            return
        }
        #expect(store.activeCount == 1)
    }
}
