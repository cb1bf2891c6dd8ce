import AlertCore
import Foundation
import Testing

/// Route keys, group keys and label identity built the way Alertmanager
/// builds them, so `groupKey`s and fingerprints are equal across both.
@Suite("Alertmanager's keys and label identity")
struct AlertmanagerKeyTests {
    @Test("a route key has each route's matchers sorted and joined with ',' (Alertmanager's Matchers.String())")
    func routeKeySorted() throws {
        let child = RouteConfiguration(receiver: "db", matchers: matchers(#"team="db", env=~"prod|stage", alertname!="Watchdog""#))
        let root = Route(root: RouteConfiguration(receiver: "default", routes: [child]))
        #expect(root.key == "{}")
        #expect(root.routes[0].key == #"{}/{alertname!="Watchdog",env=~"prod|stage",team="db"}"#)
        let reordered = RouteConfiguration(receiver: "db", matchers: matchers(#"alertname!="Watchdog", team="db", env=~"prod|stage""#))
        #expect(Route(root: RouteConfiguration(receiver: "default", routes: [reordered])).routes[0].key == root.routes[0].key)
    }

    @Test("a reload that only reorders a route's matchers keeps its groups and log entries: nothing is notified again")
    func reorderedReloadDoesNotRenotify() {
        func routing(_ matcherText: String) -> EngineConfiguration {
            config(RouteConfiguration(receiver: "default", groupBy: .labels(["alertname"]), groupWait: .seconds(30), groupInterval: .seconds(300),
                                      repeatInterval: .every(.seconds(3600)),
                                      routes: [RouteConfiguration(receiver: "db", matchers: matchers(matcherText))]))
        }
        let s = Scenario(routing(#"team="db", instance=~".+""#))
        s.fire(at: 0, "disk_full", ["team": "db", "instance": "a"])
        s.run(to: 100)
        #expect(s.transcript == ["t=30 db firing=[disk_full/a] resolved=[]"])
        s.engine.reload(routing(#"instance=~".+", team="db""#), at: s.at(100))
        s.run(to: 1000)
        #expect(s.transcript == ["t=30 db firing=[disk_full/a] resolved=[]"])
    }

    @Test("5,000 groups due at the same instant flush in one sorted pass, in key byte order (picking the earliest one at a time was quadratic)")
    func manyGroupsDueTogether() {
        let store = AlertStore()
        let origin = Date(timeIntervalSince1970: 1_800_000_000)
        let engine = AlertEngine(configuration: config(team(groupBy: .all)), store: store)
        let transitions = (0..<5_000).map { index in
            store.apply(AlertEvent(alertType: "burst", labels: ["instance": "i\(index)"], subject: "system.burst"), receivedAt: origin)
        }
        engine.apply(transitions, at: origin)
        let clock = ContinuousClock()
        let started = clock.now
        let sent = engine.advance(to: origin.addingTimeInterval(31))
        #expect(clock.now - started < .seconds(10))
        #expect(sent.count == 5_000)
        let keys = sent.map(\.groupKey)
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    @Test("matchers with the same name sort by value, then by type (=, !=, =~, !~)")
    func routeKeyTieBreaks() throws {
        let route = Route(root: RouteConfiguration(receiver: "r", routes: [
            RouteConfiguration(matchers: matchers(#"a!~"x", a=~"x", a!="x", a="x", a="w""#)),
        ]))
        #expect(route.routes[0].key == #"{}/{a="w",a="x",a!="x",a=~"x",a!~"x"}"#)
    }

    @Test("group labels are quoted as Go's %q: one label holding a quote is not two labels")
    func groupKeyQuotesValues() {
        let route = Route(root: RouteConfiguration(receiver: "r", groupBy: .labels(["a", "b"])))
        let one = AggregationGroup.key(route: route, labels: LabelSet(["a": #"1", b="2"#]))
        let two = AggregationGroup.key(route: route, labels: LabelSet(["a": "1", "b": "2"]))
        #expect(one == #"{}:{a="1\", b=\"2"}"#)
        #expect(two == #"{}:{a="1", b="2"}"#)
        #expect(one != two)
    }

    @Test("Go's %q: control characters, non-printing spaces and private-use code points are escaped; printable Unicode is kept", arguments: [
        ("tab\there", #"{}:{a="tab\there"}"#),
        ("bell\u{07}", #"{}:{a="bell\a"}"#),
        ("nul\u{0}", #"{}:{a="nul\x00"}"#),
        ("del\u{7F}", #"{}:{a="del\x7f"}"#),
        ("nbsp\u{A0}", #"{}:{a="nbsp\u00a0"}"#),
        ("private\u{E000}", #"{}:{a="private\ue000"}"#),
        ("plane16\u{10FFFD}", #"{}:{a="plane16\U0010fffd"}"#),
        ("café 日本 😀", #"{}:{a="café 日本 😀"}"#),
        ("back\\slash", #"{}:{a="back\\slash"}"#),
    ])
    func goQuote(value: String, key: String) {
        let route = Route(root: RouteConfiguration(receiver: "r", groupBy: .labels(["a"])))
        #expect(AggregationGroup.key(route: route, labels: LabelSet(["a": value])) == key)
    }

    @Test("an empty label value is no label: {a} and {a, team=\"\"} are one alert with one fingerprint")
    func emptyValuesDropped() {
        #expect(LabelSet(["a": "1", "team": ""]) == LabelSet(["a": "1"]))
        #expect(LabelSet([("a", "1"), ("team", "")]).fingerprint == LabelSet([("a", "1")]).fingerprint)
        var labels = LabelSet(["a": "1", "team": "db"])
        labels["team"] = ""
        #expect(labels == LabelSet(["a": "1"]))

        let store = AlertStore()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let first = store.apply(AlertEvent(alertType: "disk_full", labels: ["instance": "a"], subject: "system.error.critical"), receivedAt: now)
        let second = store.apply(AlertEvent(alertType: "disk_full", labels: ["instance": "a", "team": ""], subject: "system.error.critical"), receivedAt: now)
        guard case .fired(let alert) = first, case .duplicate(let fingerprint) = second else {
            Issue.record("expected fired then duplicate, got \(first) and \(second)")
            return
        }
        #expect(alert.fingerprint == fingerprint)
        #expect(store.activeCount == 1)
    }

    @Test("group values that differ only in Unicode normalization make two groups with two log entries, as in Alertmanager")
    func groupLookupByBytes() {
        #expect(LabelSet(["site": "caf\u{E9}"]) != LabelSet(["site": "cafe\u{301}"]))
        let s = Scenario(config(team(groupBy: .labels(["site"]))))
        s.fire(at: 0, "disk_full", ["site": "caf\u{E9}"])
        s.fire(at: 0, "disk_full", ["site": "cafe\u{301}", "instance": "b"])
        s.run(to: 60)
        #expect(s.engine.groups.count == 2)
        #expect(s.sent.count == 2)
        // Each group's log entry is its own: nothing changed, nothing is sent again.
        s.run(to: 1000)
        #expect(s.sent.count == 2)
        #expect(s.engine.notificationLog.all.count == 2)
    }
}
