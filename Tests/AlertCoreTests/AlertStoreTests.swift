import AlertCore
import Foundation
import Testing

@Suite("Alert store: deduplication and resolve")
struct AlertStoreTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    func crash(_ worker: String = "worker-7", status: EventStatus = .firing, summary: String = "", at ms: Int64 = 0) -> AlertEvent {
        AlertEvent(alertType: "process_crash", severity: .critical, status: status, source: worker, summary: summary,
                   occurredAtUnixMs: ms, subject: "simulation_worker.process_crash")
    }

    @Test("the first event fires; repeats are duplicates that update the alert")
    func dedup() throws {
        let store = AlertStore()
        guard case .fired(let alert) = store.apply(crash(summary: "first"), receivedAt: t0) else {
            Issue.record("first event should fire")
            return
        }
        #expect(alert.labels["alertname"] == "process_crash")
        #expect(alert.startsAt == t0)
        #expect(store.apply(crash(summary: "second"), receivedAt: t0 + 5) == .duplicate(alert.fingerprint))
        #expect(store.apply(crash(summary: "third"), receivedAt: t0 + 9) == .duplicate(alert.fingerprint))
        let stored = try #require(store.alert(alert.fingerprint))
        #expect(stored.repeatCount == 2)
        #expect(stored.lastSeen == t0 + 9)
        #expect(stored.annotations["summary"] == "third")
        #expect(stored.startsAt == t0)
        #expect(store.activeCount == 1)
    }

    @Test("a repeat that occurred earlier moves startsAt back")
    func earliestStart() throws {
        let store = AlertStore()
        _ = store.apply(crash(), receivedAt: t0)
        let earlier = Int64((t0.timeIntervalSince1970 - 60) * 1000)
        _ = store.apply(crash(at: earlier), receivedAt: t0 + 1)
        #expect(try #require(store.activeAlerts().first).startsAt == t0 - 60)
    }

    @Test("RESOLVED ends the alert once; a later event fires it anew")
    func resolve() {
        let store = AlertStore()
        _ = store.apply(crash(), receivedAt: t0)
        guard case .resolved(let ended) = store.apply(crash(status: .resolved), receivedAt: t0 + 30) else {
            Issue.record("expected a resolve")
            return
        }
        #expect(ended.endsAt == t0 + 30)
        #expect(ended.isFiring == false)
        #expect(store.activeCount == 0)
        #expect(store.apply(crash(status: .resolved), receivedAt: t0 + 31) == .resolveOfUnknown(ended.fingerprint))
        guard case .fired = store.apply(crash(), receivedAt: t0 + 40) else {
            Issue.record("a new event after the resolve should fire again")
            return
        }
    }

    @Test("distinct sources are distinct alerts")
    func distinct() {
        let store = AlertStore()
        for index in 0..<100 {
            guard case .fired = store.apply(crash("worker-\(index)"), receivedAt: t0) else {
                Issue.record("worker-\(index) should fire")
                return
            }
        }
        #expect(store.activeCount == 100)
    }

    @Test("at the active-alert cap new alerts are refused and none is evicted")
    func cap() {
        let store = AlertStore(limits: .init(maxActiveAlerts: 2))
        _ = store.apply(crash("a"), receivedAt: t0)
        _ = store.apply(crash("b"), receivedAt: t0)
        let third = crash("c")
        #expect(store.apply(third, receivedAt: t0) == .refusedAtCapacity(third.fingerprint))
        #expect(store.apply(crash("a"), receivedAt: t0) == .duplicate(crash("a").fingerprint))
        #expect(Set(store.activeAlerts().map { $0.labels["source"] }) == ["a", "b"])
        _ = store.apply(crash("a", status: .resolved), receivedAt: t0)
        guard case .fired = store.apply(third, receivedAt: t0) else {
            Issue.record("room freed by a resolve should be usable")
            return
        }
    }
}
