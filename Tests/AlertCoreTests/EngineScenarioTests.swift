import AlertCore
import Foundation
import Testing

/// A scripted run of the engine on a virtual clock, in the style of
/// Alertmanager's acceptance tests: events at t=…s, and the notifications
/// each receiver got, with when.
final class Scenario {
    static let origin = Date(timeIntervalSince1970: 1_800_000_000)  // 2027-01-15T08:00:00Z, a Friday
    let origin: Date
    let store = AlertStore()
    let silencer = Silencer()
    let engine: AlertEngine
    private(set) var now: Date
    private(set) var sent: [(t: Double, notification: AlertCore.Notification)] = []

    init(_ configuration: EngineConfiguration, origin: Date = Scenario.origin) {
        self.origin = origin
        self.now = origin
        engine = AlertEngine(configuration: configuration, store: store, silencer: silencer)
    }

    /// Runs the clock to t (seconds after the origin), stopping at every deadline on the way.
    func run(to t: Double) {
        let target = origin.addingTimeInterval(t)
        while let deadline = engine.nextDeadline, deadline <= target {
            now = max(now, deadline)
            record(engine.advance(to: now))
        }
        now = target
        record(engine.advance(to: now))
    }

    private func record(_ notifications: [AlertCore.Notification]) {
        for notification in notifications {
            sent.append((notification.timestamp.timeIntervalSince(origin), notification))
        }
    }

    @discardableResult
    func event(at t: Double, _ alertType: String, status: EventStatus = .firing, severity: Severity = .critical,
               labels: [String: String] = [:], subject: String = "system.error.critical") -> AlertTransition {
        run(to: t)
        let transition = store.apply(
            AlertEvent(alertType: alertType, severity: severity, status: status, labels: labels, subject: subject),
            receivedAt: now
        )
        engine.apply([transition], at: now)
        record(engine.advance(to: now))
        return transition
    }

    func fire(at t: Double, _ alertType: String, _ labels: [String: String] = [:], severity: Severity = .critical, subject: String = "system.error.critical") {
        event(at: t, alertType, severity: severity, labels: labels, subject: subject)
    }

    func resolve(at t: Double, _ alertType: String, _ labels: [String: String] = [:], severity: Severity = .critical, subject: String = "system.error.critical") {
        event(at: t, alertType, status: .resolved, severity: severity, labels: labels, subject: subject)
    }

    /// What was sent, as `t receiver firing=[…] resolved=[…]` lines with alert
    /// names (plus the `instance` label when set), easy to compare whole.
    var transcript: [String] {
        sent.map { t, notification in
            func names(_ alerts: [NotifiedAlert]) -> String {
                alerts.map { alert in
                    let name = alert.alert.labels["alertname"] ?? "?"
                    return alert.alert.labels["instance"].map { "\(name)/\($0)" } ?? name
                }.sorted().joined(separator: ",")
            }
            return "t=\(Int(t)) \(notification.receiver) firing=[\(names(notification.firing))] resolved=[\(names(notification.resolved))]"
        }
    }

    func at(_ t: Double) -> Date { origin.addingTimeInterval(t) }
}

func matchers(_ text: String) -> [Matcher] {
    try! MatcherParser.parseMatchers(text)
}

func config(
    _ route: RouteConfiguration, receivers: [ReceiverPolicy]? = nil, inhibit: [InhibitRule] = [],
    intervals: [NamedTimeInterval] = [], resolveTimeout: Duration = .seconds(3600)
) -> EngineConfiguration {
    let names = Set(route.allReceiverNames)
    return EngineConfiguration(
        route: route, receivers: receivers ?? names.map { ReceiverPolicy(name: $0) }, inhibitRules: inhibit,
        timeIntervals: intervals, resolveTimeout: resolveTimeout
    )
}

extension RouteConfiguration {
    var allReceiverNames: [String] { [receiver].compactMap { $0 } + routes.flatMap(\.allReceiverNames) }
}

let timers = (wait: Duration.seconds(30), interval: Duration.seconds(300), repeat: RepeatInterval.every(.seconds(3600)))

func team(_ receiver: String = "team", wait: Duration = timers.wait, groupBy: GroupBy = .labels(["alertname"]),
          interval: Duration = timers.interval, repeatEvery: RepeatInterval = timers.repeat) -> RouteConfiguration {
    RouteConfiguration(receiver: receiver, groupBy: groupBy, groupWait: wait, groupInterval: interval, repeatInterval: repeatEvery)
}

@Suite("Engine scenarios: grouping and timers")
struct GroupingScenarios {
    @Test("alerts arriving within group_wait go out together in one notification")
    func groupWaitBatches() {
        let s = Scenario(config(team()))
        s.fire(at: 0, "disk_full", ["instance": "a"])
        s.fire(at: 10, "disk_full", ["instance": "b"])
        s.fire(at: 20, "cpu_hot", ["instance": "a"])
        s.run(to: 100)
        #expect(s.transcript == [
            "t=30 team firing=[disk_full/a,disk_full/b] resolved=[]",
            "t=50 team firing=[cpu_hot/a] resolved=[]",
        ])
    }

    @Test("a new alert in a notified group waits for the next group_interval tick")
    func groupIntervalUpdate() {
        let s = Scenario(config(team()))
        s.fire(at: 0, "disk_full", ["instance": "a"])
        s.fire(at: 60, "disk_full", ["instance": "b"])
        s.run(to: 1000)
        #expect(s.transcript == [
            "t=30 team firing=[disk_full/a] resolved=[]",
            "t=330 team firing=[disk_full/a,disk_full/b] resolved=[]",
        ])
    }

    @Test("nothing changed: re-notified once repeat_interval has elapsed, at a group_interval tick")
    func repeatInterval() {
        let s = Scenario(config(team(repeatEvery: .every(.seconds(900)))))
        s.fire(at: 0, "disk_full", ["instance": "a"])
        s.run(to: 2000)
        #expect(s.transcript == [
            "t=30 team firing=[disk_full/a] resolved=[]",
            "t=930 team firing=[disk_full/a] resolved=[]",
            "t=1830 team firing=[disk_full/a] resolved=[]",
        ])
    }

    @Test("repeat_interval: never notifies a terminal event once and never again")
    func repeatNever() {
        let s = Scenario(config(team(repeatEvery: .never), resolveTimeout: .seconds(7 * 86400)))
        s.fire(at: 0, "process_crash", ["instance": "worker-7"])
        s.run(to: 3 * 86400)
        #expect(s.transcript == ["t=30 team firing=[process_crash/worker-7] resolved=[]"])
    }

    @Test("repeat_interval: never still holds after the notification log's 120h retention has passed")
    func repeatNeverOutlivesLogRetention() {
        let s = Scenario(config(team(interval: .seconds(3600), repeatEvery: .never), resolveTimeout: .seconds(30 * 86400)))
        s.engine.staleScanInterval = .seconds(3600)
        s.fire(at: 0, "process_crash", ["instance": "worker-7"])
        s.run(to: 10 * 86400)
        #expect(s.transcript == ["t=30 team firing=[process_crash/worker-7] resolved=[]"])
        // Once it resolves, the entry ages out normally.
        s.resolve(at: 10 * 86400, "process_crash", ["instance": "worker-7"])
        s.run(to: 16 * 86400)
        #expect(s.engine.notificationLog.all.isEmpty)
    }

    @Test("group_by '...' makes one group per alert; empty group_by one group for the route")
    func groupByAllAndNone() {
        let all = Scenario(config(team(groupBy: .all)))
        all.fire(at: 0, "disk_full", ["instance": "a"])
        all.fire(at: 0, "disk_full", ["instance": "b"])
        all.run(to: 60)
        #expect(all.transcript.count == 2)
        #expect(Set(all.sent.map(\.notification.groupLabels["instance"])) == ["a", "b"])

        let none = Scenario(config(team(groupBy: .labels([]))))
        none.fire(at: 0, "disk_full", ["instance": "a"])
        none.fire(at: 0, "cpu_hot", ["instance": "b"])
        none.run(to: 60)
        #expect(none.transcript == ["t=30 team firing=[cpu_hot/b,disk_full/a] resolved=[]"])
    }

    @Test("group_wait 0 notifies at once")
    func zeroGroupWait() {
        let s = Scenario(config(team(wait: .zero)))
        s.fire(at: 5, "disk_full")
        #expect(s.transcript == ["t=5 team firing=[disk_full] resolved=[]"])
    }

    @Test("a notification carries each alert's repeat count and latest annotations")
    func repeatCounts() throws {
        let s = Scenario(config(team()))
        for t in stride(from: 0.0, through: 20, by: 4) { s.fire(at: t, "disk_full") }
        s.run(to: 40)
        let alert = try #require(s.sent.first?.notification.firing.first?.alert)
        #expect(alert.repeatCount == 5)
        #expect(alert.startsAt == s.at(0))
    }
}

@Suite("Engine scenarios: resolving")
struct ResolveScenarios {
    @Test("a resolve event is notified at the next tick when send_resolved is on, and the group ends")
    func resolveByEvent() {
        let s = Scenario(config(team()))
        s.fire(at: 0, "disk_full", ["instance": "a"])
        s.resolve(at: 100, "disk_full", ["instance": "a"])
        s.run(to: 2000)
        #expect(s.transcript == [
            "t=30 team firing=[disk_full/a] resolved=[]",
            "t=330 team firing=[] resolved=[disk_full/a]",
        ])
        #expect(s.engine.groups.isEmpty)
    }

    @Test("with send_resolved off a resolve sends nothing")
    func sendResolvedOff() {
        let s = Scenario(config(team(), receivers: [ReceiverPolicy(name: "team", sendResolved: false)]))
        s.fire(at: 0, "disk_full", ["instance": "a"])
        s.fire(at: 0, "disk_full", ["instance": "b"])
        s.resolve(at: 100, "disk_full", ["instance": "a"])
        s.run(to: 2000)
        #expect(s.transcript == ["t=30 team firing=[disk_full/a,disk_full/b] resolved=[]"])
    }

    @Test("with send_resolved on, a partial resolve is sent with the alerts still firing")
    func partialResolve() {
        let s = Scenario(config(team()))
        s.fire(at: 0, "disk_full", ["instance": "a"])
        s.fire(at: 0, "disk_full", ["instance": "b"])
        s.resolve(at: 100, "disk_full", ["instance": "a"])
        s.run(to: 400)
        #expect(s.transcript == [
            "t=30 team firing=[disk_full/a,disk_full/b] resolved=[]",
            "t=330 team firing=[disk_full/b] resolved=[disk_full/a]",
        ])
    }

    @Test("an alert that resolves before group_wait ends is never notified")
    func resolvedBeforeGroupWait() {
        let s = Scenario(config(team()))
        s.fire(at: 0, "flap")
        s.resolve(at: 10, "flap")
        s.run(to: 3600)
        #expect(s.transcript.isEmpty)
    }

    @Test("an alert not reported for resolve_timeout resolves by itself")
    func resolveByTimeout() throws {
        let s = Scenario(config(team(), resolveTimeout: .seconds(600)))
        s.fire(at: 0, "heartbeat_lost")
        s.fire(at: 200, "heartbeat_lost")  // a repeat keeps it alive until 800
        s.run(to: 2000)
        #expect(s.transcript == [
            "t=30 team firing=[heartbeat_lost] resolved=[]",
            "t=930 team firing=[] resolved=[heartbeat_lost]",
        ])
        let resolved = try #require(s.sent.last?.notification.resolved.first?.alert)
        #expect(resolved.endsAt == s.at(800))
    }

    @Test("the resolve timeout can be overridden per alert type")
    func resolveTimeoutPerType() {
        var configuration = config(team(), resolveTimeout: .seconds(600))
        configuration.resolveTimeoutByAlertType = ["training_stalled": .seconds(7200)]
        let s = Scenario(configuration)
        s.fire(at: 0, "training_stalled")
        s.fire(at: 0, "heartbeat_lost")
        s.run(to: 3000)
        #expect(s.transcript.contains("t=630 team firing=[] resolved=[heartbeat_lost]"))
        #expect(!s.transcript.contains { $0.contains("resolved=[training_stalled]") })
        #expect(s.store.activeAlerts().map { $0.labels["alertname"] } == ["training_stalled"])
    }

    @Test("a firing event after a resolve starts a new alert with a new start time")
    func refireAfterResolve() throws {
        let s = Scenario(config(team(wait: .zero)))
        s.fire(at: 0, "disk_full")
        s.resolve(at: 400, "disk_full")
        s.fire(at: 1000, "disk_full")
        #expect(s.transcript == [
            "t=0 team firing=[disk_full] resolved=[]",
            "t=600 team firing=[] resolved=[disk_full]",
            "t=1000 team firing=[disk_full] resolved=[]",
        ])
        #expect(try #require(s.sent.last?.notification.firing.first).alert.startsAt == s.at(1000))
    }
}

@Suite("Engine scenarios: routing")
struct RoutingScenarios {
    static let tree = RouteConfiguration(
        receiver: "default", groupBy: .labels(["alertname"]), groupWait: .zero, groupInterval: .seconds(60),
        repeatInterval: .every(.seconds(3600)),
        routes: [
            RouteConfiguration(receiver: "db", matchers: matchers(#"team="db""#), continueMatching: true, routes: [
                RouteConfiguration(receiver: "db-prod", matchers: matchers(#"env="prod""#)),
            ]),
            RouteConfiguration(receiver: "pager", matchers: matchers(#"severity="critical""#)),
            RouteConfiguration(receiver: "ml", subjects: ["drl_training.>"]),
            RouteConfiguration(receiver: "sim", matchers: matchers(#"subject=~"simulation_worker\..*""#)),
        ]
    )

    @Test("continue lets an alert reach a later sibling; a nested route wins over its parent", arguments: [
        (["team": "db", "env": "prod"], Severity.critical, "system.error.critical", ["db-prod", "pager"]),
        (["team": "db", "env": "dev"], .critical, "system.error.critical", ["db", "pager"]),
        // db matches with continue, nothing after it does: the root's default is not added.
        (["team": "db"], .warning, "system.error.critical", ["db"]),
        ([:], .warning, "drl_training.diverged_irrecoverably", ["ml"]),
        ([:], .warning, "simulation_worker.process_crash", ["sim"]),
        ([:], .warning, "system.error.critical", ["default"]),
        ([:], .critical, "drl_training.diverged_irrecoverably", ["pager"]),
    ])
    func routing(labels: [String: String], severity: Severity, subject: String, receivers: [String]) {
        let s = Scenario(config(Self.tree))
        let event = AlertEvent(alertType: "x", severity: severity, labels: labels, subject: subject)
        #expect(s.engine.routes(for: event.alertLabels).map(\.receiver) == receivers)
    }

    @Test("an alert on two routes is notified to both receivers")
    func fanOut() {
        let s = Scenario(config(Self.tree))
        s.fire(at: 0, "replication_lag", ["team": "db", "env": "prod"])
        #expect(Set(s.transcript) == [
            "t=0 db-prod firing=[replication_lag] resolved=[]",
            "t=0 pager firing=[replication_lag] resolved=[]",
        ])
    }

    @Test("children inherit group_by and timers; the deprecated match forms still route")
    func inheritance() {
        let route = Route(root: RouteConfiguration(
            receiver: "root", groupBy: .labels(["cluster"]), groupWait: .seconds(10), groupInterval: .seconds(20),
            repeatInterval: .never,
            routes: [RouteConfiguration(receiver: "child", matchers: [try! Matcher(name: "team", type: .equal, value: "x")], groupWait: .seconds(1))]
        ))
        let child = route.routes[0]
        #expect(child.groupBy == .labels(["cluster"]))
        #expect(child.groupWait == .seconds(1))
        #expect(child.groupInterval == .seconds(20))
        #expect(child.repeatInterval == .never)
        #expect(child.key == #"{}/{team="x"}"#)
    }

    @Test("NATS subject patterns: * is one token, > is one or more", arguments: [
        ("drl_training.>", "drl_training.diverged_irrecoverably", true),
        ("drl_training.>", "drl_training.a.b", true),
        ("drl_training.>", "drl_training", false),
        ("simulation_worker.*.crash", "simulation_worker.7.crash", true),
        ("simulation_worker.*.crash", "simulation_worker.7.8.crash", false),
        ("system.error.critical", "system.error.critical", true),
        ("system.error.critical", "system.error.critical.x", false),
    ])
    func subjectPatterns(pattern: String, subject: String, matches: Bool) {
        #expect(SubjectPattern(pattern).matches(subject) == matches)
    }
}

@Suite("Engine scenarios: silences, inhibition, time intervals")
struct MutingScenarios {
    func silence(_ text: String, from: Date, to: Date) -> Silence {
        Silence(id: "", matchers: matchers(text), startsAt: from, endsAt: to, createdBy: "oncall", comment: "maintenance", updatedAt: from)
    }

    @Test("a silenced alert is left out; the rest of its group is still notified")
    func silenced() throws {
        let s = Scenario(config(team(groupBy: .labels([]))))
        try s.silencer.upsert(silence(#"instance="db-1""#, from: s.at(0), to: s.at(3600)), now: s.at(0))
        s.fire(at: 0, "disk_full", ["instance": "db-1"])
        s.fire(at: 0, "disk_full", ["instance": "db-2"])
        s.run(to: 100)
        #expect(s.transcript == ["t=30 team firing=[disk_full/db-2] resolved=[]"])
    }

    @Test("pending → active → expired: muted only while active")
    func silenceLifecycle() throws {
        let s = Scenario(config(team(wait: .zero, groupBy: .all)))
        try s.silencer.upsert(silence(#"alertname="deploy""#, from: s.at(100), to: s.at(200)), now: s.at(0))
        s.fire(at: 50, "deploy", ["instance": "before"])
        s.fire(at: 150, "deploy", ["instance": "during"])
        s.fire(at: 250, "deploy", ["instance": "after"])
        s.run(to: 260)
        #expect(s.transcript == [
            "t=50 team firing=[deploy/before] resolved=[]",
            "t=250 team firing=[deploy/after] resolved=[]",
        ])
        let during = try #require(s.store.activeAlerts().first { $0.labels["instance"] == "during" })
        #expect(s.engine.marks(for: during, at: s.at(150)).silencedBy.count == 1)
        #expect(s.engine.marks(for: during, at: s.at(250)).silencedBy.isEmpty)
    }

    @Test("an expired silence lets the next alert through")
    func expireSilence() throws {
        let s = Scenario(config(team(wait: .zero, groupBy: .all)))
        let id = try s.silencer.upsert(silence(#"alertname="db_down""#, from: s.at(0), to: s.at(3600)), now: s.at(0))
        s.fire(at: 10, "db_down", ["instance": "1"])
        try s.silencer.expire(id: id, now: s.at(20))
        s.fire(at: 30, "db_down", ["instance": "2"])
        s.run(to: 40)
        #expect(s.transcript == ["t=30 team firing=[db_down/2] resolved=[]"])
    }

    static let inhibition = InhibitRule(
        sourceMatchers: matchers(#"severity="critical""#), targetMatchers: matchers(#"severity="warning""#), equal: ["cluster"]
    )

    @Test("a warning is inhibited by a critical alert in the same cluster, not in another")
    func inhibitionWithEqual() throws {
        let s = Scenario(config(team(wait: .zero, groupBy: .all), inhibit: [Self.inhibition]))
        s.fire(at: 0, "node_down", ["cluster": "a"], severity: .critical)
        s.fire(at: 10, "disk_slow", ["cluster": "a"], severity: .warning)
        s.fire(at: 10, "disk_slow", ["cluster": "b"], severity: .warning)
        s.run(to: 20)
        let notified = s.sent.flatMap { $0.notification.firing.map { "\($0.alert.labels["alertname"]!)@\($0.alert.labels["cluster"]!)" } }
        #expect(notified.sorted() == ["disk_slow@b", "node_down@a"])
        let inhibited = try #require(s.store.activeAlerts().first { $0.labels["alertname"] == "disk_slow" && $0.labels["cluster"] == "a" })
        let source = try #require(s.store.activeAlerts().first { $0.labels["alertname"] == "node_down" })
        #expect(s.engine.marks(for: inhibited, at: s.at(20)).inhibitedBy == [source.fingerprint])
    }

    @Test("when the inhibiting alert resolves, the inhibited alert is notified at its next tick")
    func inhibitionLifted() {
        let s = Scenario(config(team(groupBy: .labels(["alertname"])), inhibit: [Self.inhibition]))
        s.fire(at: 0, "node_down", ["cluster": "a"], severity: .critical)
        s.fire(at: 0, "disk_slow", ["cluster": "a"], severity: .warning)
        s.resolve(at: 100, "node_down", ["cluster": "a"], severity: .critical)
        s.run(to: 400)
        #expect(s.transcript.sorted() == [
            "t=30 team firing=[node_down] resolved=[]",
            "t=330 team firing=[] resolved=[node_down]",
            "t=330 team firing=[disk_slow] resolved=[]",
        ].sorted())
    }

    @Test("an alert matching both sides of a rule does not inhibit itself")
    func notInhibitedBySelf() {
        let rule = InhibitRule(sourceMatchers: matchers(#"team="db""#), targetMatchers: matchers(#"team="db""#), equal: ["cluster"])
        let s = Scenario(config(team(wait: .zero, groupBy: .all), inhibit: [rule]))
        s.fire(at: 0, "db_down", ["team": "db", "cluster": "a"])
        s.fire(at: 0, "db_slow", ["team": "db", "cluster": "a"])
        #expect(s.transcript.count == 2)
    }

    @Test("send_resolved_when_muted sends the resolve of a notified alert that is silenced by then")
    func resolveWhenMuted() throws {
        for flag in [false, true] {
            var route = team(wait: .zero, groupBy: .all)
            route.sendResolvedWhenMuted = flag
            let s = Scenario(config(route))
            s.fire(at: 0, "db_down")
            try s.silencer.upsert(silence(#"alertname="db_down""#, from: s.at(10), to: s.at(3600)), now: s.at(10))
            s.resolve(at: 20, "db_down")
            s.run(to: 400)
            if flag {
                #expect(s.transcript == ["t=0 team firing=[db_down] resolved=[]", "t=300 team firing=[] resolved=[db_down]"])
                #expect(s.sent.last?.notification.resolved.first?.silencedBy.count == 1)
            } else {
                #expect(s.transcript == ["t=0 team firing=[db_down] resolved=[]"])
            }
        }
    }

    @Test("mute_time_intervals hold notifications back over the weekend; Monday's tick sends them")
    func muteOverWeekend() throws {
        // Origin: Friday 2027-01-15 08:00 UTC. Weekend = Saturday and Sunday, UTC.
        let weekend = NamedTimeInterval(name: "weekend", intervals: [
            CalendarInterval(weekdays: [try CalendarInterval.parseWeekdayRange("saturday"), try CalendarInterval.parseWeekdayRange("sunday")]),
        ])
        var route = team(wait: .seconds(30), interval: .seconds(3600), repeatEvery: .every(.seconds(86400)))
        route.muteTimeIntervals = ["weekend"]
        let root = RouteConfiguration(receiver: "team", routes: [route])
        let s = Scenario(config(root, intervals: [weekend], resolveTimeout: .seconds(7 * 86400)))
        let saturdayNoon = 28 * 3600.0  // Saturday 12:00 UTC
        s.fire(at: saturdayNoon, "backup_failed")
        s.run(to: saturdayNoon + 3 * 86400)
        let first = try #require(s.sent.first)
        let when = s.at(first.t)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        #expect(calendar.component(.weekday, from: when) == 2, "first notification on Monday, got \(when)")
        #expect(calendar.component(.hour, from: when) == 0)
    }

    @Test("active_time_intervals in Europe/Berlin follow daylight saving time")
    func activeAcrossDST() throws {
        let office = NamedTimeInterval(name: "office", intervals: [CalendarInterval(
            times: [.init(startMinute: 9 * 60, endMinute: 17 * 60)],
            weekdays: [try CalendarInterval.parseWeekdayRange("monday:friday")],
            location: try CalendarInterval.parseLocation("Europe/Berlin")
        )])
        var route = team(wait: .zero, groupBy: .all)
        route.activeTimeIntervals = ["office"]
        let root = RouteConfiguration(receiver: "team", routes: [route])
        // 07:30 UTC on Monday 2026-03-23 is 08:30 CET (closed); a week later,
        // after the switch to CEST, the same UTC time is 09:30 (open).
        let before = Scenario(config(root, intervals: [office]), origin: ISO8601DateFormatter().date(from: "2026-03-23T07:30:00Z")!)
        before.fire(at: 0, "queue_backlog")
        #expect(before.transcript.isEmpty)
        let after = Scenario(config(root, intervals: [office]), origin: ISO8601DateFormatter().date(from: "2026-03-30T07:30:00Z")!)
        after.fire(at: 0, "queue_backlog")
        #expect(after.transcript == ["t=0 team firing=[queue_backlog] resolved=[]"])
    }
}

@Suite("Engine: reload")
struct ReloadScenarios {
    @Test("a reload keeps alerts and the timers of groups whose route survives")
    func reloadKeepsTimers() {
        let s = Scenario(config(team()))
        s.fire(at: 0, "disk_full", ["instance": "a"])
        s.run(to: 10)
        var changed = config(team())
        changed.inhibitRules = [MutingScenarios.inhibition]
        s.engine.reload(changed, at: s.at(10))
        s.run(to: 100)
        #expect(s.transcript == ["t=30 team firing=[disk_full/a] resolved=[]"])
        #expect(s.store.activeCount == 1)
    }

    @Test("after a reload to another receiver, the new receiver is told at the group's next tick; the old one hears nothing more")
    func reloadNewRoute() {
        let s = Scenario(config(team()))
        s.fire(at: 0, "disk_full")
        s.run(to: 40)
        s.engine.reload(config(team("other")), at: s.at(40))
        s.run(to: 1000)
        #expect(s.transcript == [
            "t=30 team firing=[disk_full] resolved=[]",
            "t=330 other firing=[disk_full] resolved=[]",
        ])
    }
}

@Suite("Engine: state store and restart")
struct RestartScenarios {
    @Test("after a restart from the state store: same alerts and start times, silences still mute, nothing re-notified early")
    func restart() async throws {
        let journal = StateJournal()
        let stateStore = MemoryStateStore()
        let origin = Scenario.origin
        let configuration = config(team(groupBy: .all, repeatEvery: .every(.seconds(3600))), resolveTimeout: .seconds(86400))

        // First life.
        let store = AlertStore()
        let silencer = Silencer(journal: journal)
        let engine = AlertEngine(configuration: configuration, store: store, silencer: silencer,
                                 notificationLog: NotificationLog(journal: journal), journal: journal)
        try silencer.upsert(Silence(matchers: matchers(#"instance="muted""#), startsAt: origin, endsAt: origin + 86400,
                                    createdBy: "oncall", comment: "known issue"), now: origin)
        for instance in ["a", "b", "muted"] {
            engine.apply([store.apply(AlertEvent(alertType: "disk_full", labels: ["instance": instance]), receivedAt: origin)], at: origin)
        }
        let firstLife = engine.advance(to: origin + 60)
        try await stateStore.record(journal.drain())
        #expect(firstLife.flatMap(\.firing).compactMap { $0.alert.labels["instance"] }.sorted() == ["a", "b"])

        // Second life, 10 minutes later, from the state store only.
        let persisted = try await stateStore.load()
        let store2 = AlertStore()
        store2.restore(persisted.alerts)
        let silencer2 = Silencer(silences: persisted.silences)
        let engine2 = AlertEngine(configuration: configuration, store: store2, silencer: silencer2,
                                  notificationLog: NotificationLog(entries: persisted.notificationLog))
        let restart = origin + 600
        engine2.adopt(store2.activeAlerts(), at: restart)
        #expect(store2.activeAlerts().map(\.startsAt) == store.activeAlerts().map(\.startsAt))
        #expect(store2.activeCount == 3)
        var secondLife: [AlertCore.Notification] = []
        var now = restart
        while now < origin + 3000 {
            secondLife += engine2.advance(to: now)
            now += 60
        }
        #expect(secondLife.isEmpty, "re-notified before repeat_interval: \(secondLife.map(\.groupKey))")
        // After the repeat interval (1h after the first notification), a and b repeat; the silenced one still does not.
        while now < origin + 4000 {
            secondLife += engine2.advance(to: now)
            now += 60
        }
        #expect(secondLife.flatMap(\.firing).compactMap { $0.alert.labels["instance"] }.sorted() == ["a", "b"])
    }

    @Test("a failed state write keeps the changes for the next attempt")
    func journalPrepend() {
        let journal = StateJournal()
        journal.append(.silenceRemoved(id: "2"))
        let first = journal.drain()
        journal.append(.silenceRemoved(id: "3"))
        journal.prepend(first)
        #expect(journal.drain() == [.silenceRemoved(id: "2"), .silenceRemoved(id: "3")])
    }
}

@Suite("Notification ids")
struct NotificationIDTests {
    static func alert(_ source: String) -> Alert {
        let event = AlertEvent(alertType: "disk_full", source: source)
        return Alert(event: event, fingerprint: Fingerprint(labels: LabelSet(["alertname": "disk_full", "source": source])),
                     receivedAt: Date(timeIntervalSince1970: 1_000))
    }
    let a = alert("a")
    let b = alert("b")

    func notification(_ firing: [Alert], at seconds: Double, previous: Double?) -> AlertCore.Notification {
        AlertCore.Notification(receiver: "team", groupKey: "{}:{alertname=\"disk_full\"}", groupLabels: LabelSet(["alertname": "disk_full"]),
                               firing: firing.map { NotifiedAlert(alert: $0) }, resolved: [], sendResolved: true,
                               timestamp: Date(timeIntervalSince1970: seconds), previous: previous.map { Date(timeIntervalSince1970: $0) })
    }

    @Test("the same decision taken again after a crash has the same id, whenever it is taken and in whatever order the alerts come")
    func sameDecisionSameID() {
        #expect(notification([a, b], at: 2_000, previous: 1_500).id == notification([b, a], at: 2_600, previous: 1_500).id)
    }

    @Test("a repeat after repeat_interval, another alert set, or a first notification each get their own id")
    func differentDecisionsDifferentIDs() {
        let ids = [
            notification([a, b], at: 2_000, previous: 1_500).id,
            notification([a, b], at: 9_000, previous: 2_000).id,
            notification([a], at: 2_000, previous: 1_500).id,
            notification([a, b], at: 2_000, previous: nil).id,
        ]
        #expect(Set(ids).count == ids.count)
    }

    @Test("a notification survives a JSON round trip (the outbox's encoding) unchanged, id included")
    func codableRoundTrip() throws {
        let original = notification([a, b], at: 2_000, previous: 1_500)
        let decoded = try JSONDecoder().decode(AlertCore.Notification.self, from: JSONEncoder().encode(original))
        #expect(decoded == original)
    }
}
