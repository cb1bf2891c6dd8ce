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

    @Test("a RESOLVED with a publisher's future time ends the alert now, not in the future")
    func resolveNeverInTheFuture() throws {
        let store = AlertStore()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        _ = store.apply(AlertEvent(alertType: "a", source: "s"), receivedAt: now)
        var resolve = AlertEvent(alertType: "a", status: .resolved, source: "s", occurredAtUnixMs: 1_800_000_000_000 + 240_000)
        #expect(resolve.sanitize(receivedAt: now.addingTimeInterval(1), limits: EventLimits()).isEmpty, "4 min ahead is within the default skew")
        guard case .resolved(let ended) = store.apply(resolve, receivedAt: now.addingTimeInterval(1)) else {
            Issue.record("not resolved")
            return
        }
        #expect(ended.endsAt == now.addingTimeInterval(1))
        // So it is collected after the retention, as any other resolved alert.
        #expect(store.collectGarbage(now: now.addingTimeInterval(3601), retention: .seconds(3600)) == [ended.fingerprint])
    }

    @Test("many threads firing, repeating and resolving over shared fingerprints: counts stay exact and the cap holds")
    func concurrentShards() async {
        let store = AlertStore(limits: .init(maxActiveAlerts: 500))
        let now = Date()
        await withTaskGroup(of: Int.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var fired = 0
                    for index in 0..<2_000 {
                        if case .fired = store.apply(AlertEvent(alertType: "a", source: "s\((index * 7 + worker) % 800)"), receivedAt: now) { fired += 1 }
                    }
                    return fired
                }
            }
            var fired = 0
            for await count in group { fired += count }
            #expect(fired == 500, "each of 500 admitted alerts fired exactly once")
        }
        #expect(store.activeCount == 500)
        #expect(store.activeAlerts().count == 500)
        let stale = store.resolveStale(now: now.addingTimeInterval(3600)) { _ in .seconds(300) }
        #expect(stale.count == 500 && store.activeCount == 0 && store.resolvedAlerts().count == 500)
    }
}
