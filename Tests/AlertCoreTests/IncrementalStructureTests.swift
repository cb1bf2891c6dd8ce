@testable import AlertCore
import AlertTestSupport
import Foundation
import Testing


/// An aggregation group as its semantics say, computed the plain way: a
/// full copy of every member, the next flush found by scanning every group.
struct ReferenceGroup {
    let route: Route
    var members: [Fingerprint: Alert] = [:]
    var nextFlush: Date
    var hasFlushed = false

    mutating func insert(_ alert: Alert, now: Date) {
        members[alert.fingerprint] = alert
        if !hasFlushed, alert.startsAt.addingTimeInterval(route.groupWait.seconds) <= now, nextFlush > now { nextFlush = now }
    }

    mutating func flush(at now: Date) {
        hasFlushed = true
        nextFlush = now.addingTimeInterval(route.groupInterval.seconds)
        members = members.filter(\.value.isFiring)
    }
}

/// The structures that keep per-step work proportional to what changed
/// (membership by fingerprint, the flush schedule, the store's per-type
/// counts, the engine's gauges) agree with a from-scratch computation after
/// random sequences of fires, resolves, flushes and garbage collection.
@Suite("Incremental structures equal a from-scratch computation")
struct IncrementalStructureTests {
    static let origin = Date(timeIntervalSince1970: 1_800_000_000)

    static func randomEvent(_ random: inout SeededGenerator) -> AlertEvent {
        let name = ["disk_full", "cpu_high", "node_down"][Int.random(in: 0..<3, using: &random)]
        let zone = ["a", "b", "c"][Int.random(in: 0..<3, using: &random)]
        let severity: Severity = Bool.random(using: &random) ? .critical : .warning
        let resolved = Int.random(in: 0..<3, using: &random) == 0
        return AlertEvent(alertType: name, severity: severity, status: resolved ? .resolved : .firing,
                          labels: ["zone": zone, "instance": "i\(Int.random(in: 0..<20, using: &random))"], subject: "system.x")
    }

    @Test("a dispatcher's groups, members and flush schedule after random inserts and flushes equal the plain computation", arguments: [1, 2, 3] as [UInt64])
    func dispatcherMatchesReference(seed: UInt64) {
        var random = SeededGenerator(state: seed)
        let root = Route(root: RouteConfiguration(
            receiver: "default", groupBy: .labels(["alertname"]), groupWait: .seconds(30), groupInterval: .seconds(120),
            repeatInterval: .every(.seconds(3600)),
            routes: [RouteConfiguration(receiver: "zones", matchers: try! MatcherParser.parseMatchers(#"zone=~"a|b""#), continueMatching: true,
                                        groupBy: .labels(["alertname", "zone"]), groupWait: .seconds(10)),
                     RouteConfiguration(receiver: "rest", groupBy: .all)]))
        let store = AlertStore()
        var dispatcher = Dispatcher(root: root)
        var reference: [String: ReferenceGroup] = [:]
        var now = Self.origin

        for _ in 0..<3_000 {
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<7:
                let transition = store.apply(Self.randomEvent(&random), receivedAt: now)
                let alert: Alert
                switch transition {
                case .fired(let fired): alert = fired
                case .resolved(let resolved): alert = resolved
                default: continue
                }
                dispatcher.insert(alert, now: now)
                for route in root.match(alert.labels) {
                    let key = AggregationGroup.key(route: route, labels: route.groupLabels(for: alert.labels))
                    reference[key, default: ReferenceGroup(route: route, nextFlush: now.addingTimeInterval(route.groupWait.seconds))]
                        .insert(alert, now: now)
                }
            case 7:
                store.collectGarbage(now: now, retention: .seconds(60))
            default:
                now = now.addingTimeInterval(Double(Int.random(in: 0...40, using: &random)))
                let expectedDue = reference.filter { $0.value.nextFlush <= now }.map { (key: $0.key, at: $0.value.nextFlush) }
                    .sorted { $0.at != $1.at ? $0.at < $1.at : $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                let due = dispatcher.takeDueGroups(by: now)
                #expect(due.map(\.key) == expectedDue.map(\.key))
                #expect(due.map(\.at) == expectedDue.map(\.at))
                for (key, at) in due {
                    guard var group = dispatcher.takeGroup(key) else { Issue.record("due group \(key) missing"); continue }
                    group.scheduleNext(after: at)
                    group.removeResolved()
                    dispatcher.putBack(group)
                    reference[key]!.flush(at: at)
                    if reference[key]!.members.isEmpty { reference[key] = nil }
                }
            }
            // After every step: the same groups, members, resolved members and next flush.
            #expect(Set(dispatcher.groups.keys.map(\.text)) == Set(reference.keys))
            for (key, expected) in reference {
                guard let group = dispatcher[groupKey: key] else { continue }
                #expect(group.fingerprints == expected.members.keys.sorted())
                #expect(Set(group.resolvedMembers.keys) == Set(expected.members.filter { !$0.value.isFiring }.keys))
                #expect(group.flushOrder().allSatisfy { expected.members[$0.fingerprint]?.startsAt == $0.startsAt })
                #expect(group.nextFlush == expected.nextFlush)
            }
            #expect(dispatcher.nextFlush == reference.values.map(\.nextFlush).min())
        }
    }

    @Test("the group key kept per route is never another group's: alerts whose group values differ only in Unicode normalization, or lack one, alternate and each lands in its own key's group")
    func groupKeyKeptPerRouteComparesBytes() {
        // Both children match every alert: one groups by alertname and site, one by all labels.
        let root = Route(root: RouteConfiguration(
            receiver: "default", groupBy: .labels(["alertname"]), groupWait: .seconds(30), groupInterval: .seconds(120),
            repeatInterval: .every(.seconds(3600)),
            routes: [RouteConfiguration(receiver: "sites", continueMatching: true, groupBy: .labels(["alertname", "site"])),
                     RouteConfiguration(receiver: "all", continueMatching: true, groupBy: .all)]))
        let store = AlertStore()
        var dispatcher = Dispatcher(root: root)
        var keys = Set<[UInt8]>()
        let sites: [String?] = ["caf\u{E9}", "cafe\u{301}", nil, "caf\u{E9}", "cafe\u{301}", "cafe\u{301}", nil, "caf\u{E9}"]
        for (index, site) in sites.enumerated() {
            var labels = ["instance": "i\(index % 3)"]
            if let site { labels["site"] = site }
            guard case .fired(let alert) = store.apply(AlertEvent(alertType: "disk_full", severity: .warning, labels: labels, subject: "system.x"),
                                                       receivedAt: Self.origin) else { continue }
            dispatcher.insert(alert, now: Self.origin)
            let routes = root.match(alert.labels)
            #expect(routes.map(\.receiver) == ["sites", "all"])
            for route in routes {
                let key = AggregationGroup.key(route: route, labels: route.groupLabels(for: alert.labels))
                keys.insert(Array(key.utf8))
                #expect(dispatcher[groupKey: key]?.fingerprints.contains(alert.fingerprint) == true, "alert \(index) not in group \(key)")
            }
        }
        // Three groups on `sites` (two spellings of café, no site) and one per distinct alert on `all`.
        #expect(dispatcher.groups.count == keys.count)
        #expect(Set(dispatcher.groups.keys.map { Array($0.text.utf8) }) == keys)
    }

    @Test("the store's firing counts by alertname and severity equal a count over its firing alerts, through fires, resolves, timeouts and restores", arguments: [7, 8] as [UInt64])
    func storeCountsMatchRecount(seed: UInt64) {
        var random = SeededGenerator(state: seed)
        let store = AlertStore()
        var now = Self.origin
        func recount() -> [AlertStore.ActiveAlertType: Int] {
            var counts: [AlertStore.ActiveAlertType: Int] = [:]
            for alert in store.activeAlerts() { counts[AlertStore.ActiveAlertType(alert.labels), default: 0] += 1 }
            return counts
        }
        for step in 0..<2_000 {
            switch Int.random(in: 0..<20, using: &random) {
            case 0:
                _ = store.resolveStale(now: now) { _ in .seconds(120) }
            case 1:
                let snapshot = store.activeAlerts()
                store.restore(Array(snapshot.prefix(Int.random(in: 0...snapshot.count, using: &random))))
            default:
                _ = store.apply(Self.randomEvent(&random), receivedAt: now)
            }
            now = now.addingTimeInterval(Double(Int.random(in: 0...10, using: &random)))
            if step % 10 == 0 { #expect(store.activeCountsByType() == recount()) }
        }
        #expect(store.activeCountsByType() == recount())
        #expect(store.activeCountsByType().values.reduce(0, +) == store.activeCount)
    }

    @Test("the engine's gauges: group count after every step, and firing alerts silenced as of their group's last flush")
    func engineGauges() throws {
        var random = SeededGenerator(state: 11)
        let store = AlertStore()
        let silencer = Silencer()
        let engine = AlertEngine(configuration: config(RouteConfiguration(
            receiver: "team", groupBy: .labels(["alertname", "zone"]), groupWait: .seconds(30),
            groupInterval: .seconds(60), repeatInterval: .every(.seconds(3600)))), store: store, silencer: silencer)
        var now = Self.origin
        for _ in 0..<500 {
            engine.apply([store.apply(Self.randomEvent(&random), receivedAt: now)], at: now)
            now = now.addingTimeInterval(Double(Int.random(in: 0...5, using: &random)))
            _ = engine.advance(to: now)
            #expect(engine.gauges.groups.load(ordering: .relaxed) == engine.groupCount)
        }
        // A silence of zone "a": after every group has flushed, the gauge is the firing alerts of zone "a".
        _ = try silencer.upsert(Silence(matchers: MatcherParser.parseMatchers(#"zone="a""#), startsAt: now, endsAt: now.addingTimeInterval(600),
                                        createdBy: "test", comment: "maintenance"), now: now)
        now = now.addingTimeInterval(61)
        _ = engine.advance(to: now)
        #expect(engine.gauges.silencedFiring.load(ordering: .relaxed) == store.activeAlerts().filter { $0.labels["zone"] == "a" }.count)
        #expect(engine.gauges.inhibitedFiring.load(ordering: .relaxed) == 0)
        // The silence ends: the next flushes count nothing.
        now = now.addingTimeInterval(601)
        _ = engine.advance(to: now)
        #expect(engine.gauges.silencedFiring.load(ordering: .relaxed) == 0)
    }
}
