import AlertCore
import Foundation
import Testing

/// Event-stream rules on a virtual clock: samples (and events) at t=…s go
/// through a `RuleEvaluator` into the same store and engine as event alerts,
/// and the transcript says what each receiver got, and when.
final class RuleScenario {
    let origin = Scenario.origin
    let store = AlertStore()
    let silencer = Silencer()
    let journal = StateJournal()
    let engine: AlertEngine
    let rules: RuleEvaluator
    private(set) var now: Date
    private(set) var sent: [(t: Double, notification: AlertCore.Notification)] = []
    /// Every fired/resolved transition, as `t=… fired|resolved name`.
    private(set) var transitions: [String] = []

    init(_ rules: [EventRule], route: RouteConfiguration = team(wait: .zero, interval: .seconds(60)),
         restoring persisted: PersistedState? = nil, startAt t: Double = 0) {
        now = origin.addingTimeInterval(t)
        if let persisted { store.restore(persisted.alerts) }
        engine = AlertEngine(configuration: config(route), store: store, silencer: silencer)
        self.rules = RuleEvaluator(rules: rules, store: store, journal: journal)
        if let persisted {
            self.rules.restore(persisted.ruleSeries, at: now)
            engine.adopt(store.activeAlerts(), at: now)
        }
    }

    /// Runs the clock to t, stopping at every engine and rule deadline on the way.
    func run(to t: Double) {
        let target = origin.addingTimeInterval(t)
        while let deadline = [engine.nextDeadline, rules.nextDeadline].compactMap({ $0 }).min(), deadline <= target {
            now = max(now, deadline)
            step(rules.advance(to: now))
        }
        now = target
        step(rules.advance(to: now))
    }

    func sample(at t: Double, _ value: Double, subject: String = "metrics.test", name: String = "",
                labels: [String: String] = [:], iteration: Int64? = nil, source: String = "") {
        run(to: t)
        step(rules.observe(MetricSample(name: name, value: value, labels: labels, iteration: iteration, source: source, subject: subject), at: now))
    }

    func event(at t: Double, _ alertType: String, subject: String, labels: [String: String] = [:]) {
        run(to: t)
        let event = AlertEvent(alertType: alertType, severity: .critical, labels: labels, subject: subject)
        var batch = [store.apply(event, receivedAt: now)]
        batch += rules.observe(event, at: now)
        step(batch)
    }

    private func step(_ batch: [AlertTransition]) {
        for transition in batch {
            let t = Int(now.timeIntervalSince(origin))
            switch transition {
            case .fired(let alert): transitions.append("t=\(t) fired \(Self.name(alert))")
            case .resolved(let alert): transitions.append("t=\(t) resolved \(Self.name(alert))")
            default: break
            }
        }
        engine.apply(batch, at: now)
        for notification in engine.advance(to: now) {
            sent.append((notification.timestamp.timeIntervalSince(origin), notification))
        }
    }

    static func name(_ alert: Alert) -> String {
        let name = alert.labels["alertname"] ?? "?"
        return alert.labels["worker"].map { "\(name)/\($0)" } ?? name
    }

    var transcript: [String] {
        sent.map { t, notification in
            func names(_ alerts: [NotifiedAlert]) -> String { alerts.map { Self.name($0.alert) }.sorted().joined(separator: ",") }
            return "t=\(Int(t)) \(notification.receiver) firing=[\(names(notification.firing))] resolved=[\(names(notification.resolved))]"
        }
    }

    func alert(_ name: String) -> Alert? {
        (store.activeAlerts() + store.resolvedAlerts()).first { $0.labels["alertname"] == name }
    }

    /// What a state store would hold now (journal applied to `base`).
    func persisted(over base: MemoryStateStore = MemoryStateStore()) async throws -> PersistedState {
        rules.journalChanges()
        try await base.record(store.activeAlerts().map(StateChange.alertUpserted) + journal.drain())
        return try await base.load()
    }
}

func rule(_ name: String, _ kind: RuleKind, subjects: [String] = ["metrics.test"], clear: String? = nil, groupBy: [String] = [],
          metric: String? = nil, matchers: [Matcher] = [], flapping: FlappingPolicy? = nil,
          annotations: [String: String] = [:]) -> EventRule {
    EventRule(name: name, kind: kind, severity: .warning, labels: ["team": "platform"], annotations: annotations,
              subjects: subjects.map(SubjectPattern.init), metric: metric, matchers: matchers, groupBy: groupBy,
              clear: clear.map { Condition(parsing: $0)! }, flapping: flapping)
}

func cond(_ text: String) -> Condition { Condition(parsing: text)! }

@Suite("Rules: the platform's resource-monitoring conditions")
struct ResourceMonitoringRuleScenarios {
    @Test("diversity < 0.1 for 5 consecutive iterations raises diversity_collapse; 0.2 keeps it (hysteresis), 0.35 clears it")
    func diversityCollapse() throws {
        let s = RuleScenario([rule("diversity_collapse", .consecutive(cond("< 0.1"), samples: 5), clear: "> 0.3",
                                   annotations: ["summary": "Diversity {{value}} below {{threshold}} at iteration {{iteration}}"])])
        for (step, value) in [0.5, 0.08, 0.07, 0.09, 0.05].enumerated() {
            s.sample(at: Double(step * 10), value, iteration: Int64(step + 1))
        }
        #expect(s.transitions.isEmpty, "4 low samples are not 5")
        s.sample(at: 50, 0.04, iteration: 6)
        #expect(s.transitions == ["t=50 fired diversity_collapse"])
        let alert = try #require(s.alert("diversity_collapse"))
        #expect(alert.currentValue == 0.04)
        #expect(alert.thresholdValue == 0.1)
        #expect(alert.iteration == 6)
        #expect(alert.annotations["summary"] == "Diversity 0.04 below 0.1 at iteration 6")
        #expect(alert.labels.dictionary == ["alertname": "diversity_collapse", "severity": "warning", "team": "platform"])
        s.sample(at: 60, 0.2, iteration: 7)
        s.sample(at: 70, 0.05, iteration: 8)
        #expect(s.alert("diversity_collapse")?.isFiring == true, "0.2 is not above the clear threshold 0.3")
        #expect(s.alert("diversity_collapse")?.currentValue == 0.05)
        s.sample(at: 80, 0.35, iteration: 9)
        s.run(to: 200)
        #expect(s.transitions == ["t=50 fired diversity_collapse", "t=80 resolved diversity_collapse"])
        #expect(s.transcript == [
            "t=50 team firing=[diversity_collapse] resolved=[]",
            "t=110 team firing=[] resolved=[diversity_collapse]",
        ])
    }

    @Test("memory at 85 % raises high_memory once; further high samples update it, they do not re-raise it")
    func highMemory() throws {
        let s = RuleScenario([rule("high_memory", .threshold(cond("> 80"), holdFor: nil), subjects: ["metrics.memory.percent"])])
        s.sample(at: 0, 70, subject: "metrics.memory.percent")
        s.sample(at: 10, 85, subject: "metrics.memory.percent")
        s.sample(at: 20, 90, subject: "metrics.memory.percent")
        s.sample(at: 30, 95, subject: "metrics.memory.percent")
        s.sample(at: 40, 99, subject: "metrics.other")
        #expect(s.transitions == ["t=10 fired high_memory"])
        let alert = try #require(s.alert("high_memory"))
        #expect(alert.currentValue == 95 && alert.thresholdValue == 80 && alert.repeatCount == 2)
        #expect(alert.annotations["summary"] == "high_memory: 85 (> 80)", "annotations are filled when the alert fires")
        s.sample(at: 50, 80, subject: "metrics.memory.percent")
        #expect(s.transitions.last == "t=50 resolved high_memory", "80 is not > 80")
    }

    @Test("a threshold with `for: 3` samples and one with `for: 2m` wait before firing; the timed one fires without a new sample")
    func thresholdFor() {
        let s = RuleScenario([
            rule("orphaned_containers", .threshold(cond(">= 3"), holdFor: .samples(3)), subjects: ["metrics.orphans"]),
            rule("high_cpu", .threshold(cond("> 90"), holdFor: .duration(.seconds(120))), subjects: ["metrics.cpu"]),
        ])
        s.sample(at: 0, 3, subject: "metrics.orphans")
        s.sample(at: 0, 95, subject: "metrics.cpu")
        s.sample(at: 10, 4, subject: "metrics.orphans")
        s.sample(at: 20, 2, subject: "metrics.orphans")   // breaks the run
        s.sample(at: 30, 3, subject: "metrics.orphans")
        s.sample(at: 40, 3, subject: "metrics.orphans")
        #expect(s.transitions.isEmpty)
        s.sample(at: 50, 5, subject: "metrics.orphans")
        #expect(s.transitions == ["t=50 fired orphaned_containers"])
        s.sample(at: 60, 96, subject: "metrics.cpu")
        s.run(to: 119)
        #expect(!s.transitions.joined(separator: ";").contains("high_cpu"))
        s.run(to: 121)
        #expect(s.transitions.last == "t=120 fired high_cpu", "\(s.transitions)")
    }
}

@Suite("Rules: one scenario per kind")
struct RuleKindScenarios {
    @Test("rolling aggregate: success rate < 20 % over the last 10 iterations, only once 10 samples are there")
    func lowSuccessRate() throws {
        let s = RuleScenario([rule("low_success_rate", .aggregate(.avg, window: .samples(10), cond("< 0.2"), minSamples: 1))])
        // 1 success then failures: the average over 10 is 0.1 only when the window is full.
        s.sample(at: 0, 1)
        for i in 1..<9 { s.sample(at: Double(i), 0) }
        #expect(s.transitions.isEmpty, "9 samples are not a window of 10")
        s.sample(at: 9, 0)
        #expect(s.transitions == ["t=9 fired low_success_rate"])
        #expect(s.alert("low_success_rate")?.currentValue == 0.1)
        // Two successes push the average to 0.2 (the oldest, a success, leaves): 0.2 is not < 0.2.
        s.sample(at: 10, 1)
        s.sample(at: 11, 1)
        #expect(s.transitions.last == "t=11 resolved low_success_rate", "\(s.transitions)")
    }

    @Test("rolling aggregate over a time window: the rate of a failure counter, with a counter reset")
    func failureRate() throws {
        let s = RuleScenario([rule("failure_rate", .aggregate(.rate, window: .duration(.seconds(60)), cond("> 0.5"), minSamples: 2))])
        s.sample(at: 0, 100)
        s.sample(at: 30, 110)   // 10 in 30 s
        #expect(s.transitions.isEmpty)
        s.sample(at: 60, 5)     // reset: +5 → 15 in 60 s = 0.25/s
        #expect(s.transitions.isEmpty)
        s.sample(at: 80, 45)    // window now 30..80: +(5)+(40) = 45 in 50 s = 0.9/s
        #expect(s.transitions == ["t=80 fired failure_rate"])
        #expect(s.alert("failure_rate")?.currentValue == 0.9)
    }

    @Test("event count: 3 process_crash events within 10 minutes raise one crash storm alert carrying the count; it resolves as they age out")
    func crashStorm() throws {
        let s = RuleScenario([rule("crash_storm", .eventCount(count: 3, window: .seconds(600)), subjects: ["simulation_worker.process_crash"],
                                   matchers: [try Matcher(name: "alertname", type: .equal, value: "process_crash")],
                                   annotations: ["summary": "{{value}} crashes in 10 minutes"])],
                             route: team(wait: .zero, groupBy: .labels(["alertname", "worker"]), interval: .seconds(60)))
        s.event(at: 0, "process_crash", subject: "simulation_worker.process_crash", labels: ["worker": "1"])
        s.event(at: 100, "process_crash", subject: "simulation_worker.process_crash", labels: ["worker": "2"])
        s.event(at: 150, "other", subject: "simulation_worker.process_crash")
        #expect(!s.transitions.joined(separator: ";").contains("crash_storm"))
        s.event(at: 200, "process_crash", subject: "simulation_worker.process_crash", labels: ["worker": "3"])
        #expect(s.transitions.last == "t=200 fired crash_storm")
        #expect(s.alert("crash_storm")?.annotations["summary"] == "3 crashes in 10 minutes")
        s.event(at: 300, "process_crash", subject: "simulation_worker.process_crash", labels: ["worker": "4"])
        #expect(s.alert("crash_storm")?.currentValue == 4)
        #expect(s.transitions.joined(separator: ";").components(separatedBy: "crash_storm").count == 2, "one alert, not a flood")
        // The window includes its edge: the crash at 100 leaves it just after t=700, leaving 2.
        s.run(to: 700)
        #expect(s.alert("crash_storm")?.isFiring == true)
        s.run(to: 710)
        #expect(s.transitions.last == "t=701 resolved crash_storm", "\(s.transitions)")
    }

    @Test("absence: a worker's heartbeat that stops raises worker_heartbeat_missing for that worker; a new beat resolves it")
    func heartbeatAbsence() throws {
        let s = RuleScenario([rule("worker_heartbeat_missing", .absence(after: .seconds(120)), subjects: ["heartbeat.worker"], groupBy: ["worker"])])
        for t in stride(from: 0.0, through: 300, by: 30) {
            s.sample(at: t, 1, subject: "heartbeat.worker", labels: ["worker": "1"])
            if t <= 60 { s.sample(at: t, 1, subject: "heartbeat.worker", labels: ["worker": "2"]) }
        }
        #expect(s.transitions == ["t=180 fired worker_heartbeat_missing/2"], "worker 2's last beat was at 60")
        let alert = try #require(s.alert("worker_heartbeat_missing"))
        #expect(alert.labels["worker"] == "2" && alert.thresholdValue == 120)
        #expect(alert.currentValue == 240, "the value is the silence so far, updated while it lasts (t=300, last beat at 60)")
        s.sample(at: 320, 1, subject: "heartbeat.worker", labels: ["worker": "2"])
        #expect(s.transitions.last == "t=320 resolved worker_heartbeat_missing/2")
    }

    @Test("absence without group_by: a monitor that never reports at all is absent too")
    func neverReported() {
        let s = RuleScenario([rule("monitor_silent", .absence(after: .seconds(60)), subjects: ["metrics.>"])])
        s.run(to: 59)
        #expect(s.transitions.isEmpty)
        s.run(to: 61)
        #expect(s.transitions == ["t=60 fired monitor_silent"])
        s.sample(at: 70, 5, subject: "metrics.memory.percent")
        #expect(s.transitions.last == "t=70 resolved monitor_silent")
    }

    @Test("change: the champion's id unchanged for 20 samples raises champion_stale; a new champion resolves it")
    func championUnchanged() {
        let s = RuleScenario([rule("champion_stale", .unchanged(.samples(20)), metric: "champion_id")])
        for i in 0..<19 { s.sample(at: Double(i), 7, name: "champion_id", iteration: Int64(i)) }
        s.sample(at: 19, 7, name: "other_metric")
        #expect(s.transitions.isEmpty, "19 samples of the same champion, the other metric does not count")
        s.sample(at: 20, 7, name: "champion_id")
        #expect(s.transitions == ["t=20 fired champion_stale"])
        s.sample(at: 21, 8, name: "champion_id")
        #expect(s.transitions.last == "t=21 resolved champion_stale")
    }

    @Test("change by time: a score that has not moved for 10 minutes is stale even if samples keep coming")
    func scoreStaleByTime() {
        let s = RuleScenario([rule("score_stale", .unchanged(.duration(.seconds(600))))])
        s.sample(at: 0, 0.5)
        s.sample(at: 300, 0.5)
        s.run(to: 599)
        #expect(s.transitions.isEmpty)
        s.run(to: 601)
        #expect(s.transitions == ["t=600 fired score_stale"])
        s.sample(at: 700, 0.6)
        #expect(s.transitions.last == "t=700 resolved score_stale")
    }

    @Test("flapping: an alert changing state more than 3 times in 10 minutes is held firing, notified once, until it settles")
    func flapping() throws {
        let s = RuleScenario([rule("high_cpu", .threshold(cond("> 90"), holdFor: nil), flapping: FlappingPolicy(maxChanges: 3, window: .seconds(600)))],
                             route: team(wait: .zero, interval: .seconds(30)))
        // up, down, up, down, up, down … every 40 s.
        for i in 0..<12 { s.sample(at: Double(i * 40), i % 2 == 0 ? 95 : 50) }
        #expect(s.transitions == ["t=0 fired high_cpu", "t=40 resolved high_cpu", "t=80 fired high_cpu"],
                "the 4th change (t=120) marks it flapping: held firing from then on")
        let alert = try #require(s.alert("high_cpu"))
        #expect(alert.isFiring && alert.annotations["flapping"] == "true")
        // Last change at t=440 (to 50, below): stable for 600 s → resolves at t=1040.
        s.run(to: 1030)
        #expect(s.alert("high_cpu")?.isFiring == true)
        s.run(to: 1100)
        #expect(s.transitions.last == "t=1040 resolved high_cpu", "\(s.transitions)")
        #expect(s.transcript.count <= 5, "\(s.transcript)")
        #expect(s.transcript.joined(separator: ";").components(separatedBy: "firing=[high_cpu]").count == 3)
    }

    @Test("group_by splits a rule into one series (and one alert) per worker; matchers filter samples by label")
    func groupBy() throws {
        let s = RuleScenario([rule("high_memory", .threshold(cond("> 80"), holdFor: nil), groupBy: ["worker"],
                                   matchers: [try Matcher(name: "env", type: .equal, value: "prod")])])
        s.sample(at: 0, 85, labels: ["worker": "1", "env": "prod"])
        s.sample(at: 0, 85, labels: ["worker": "2", "env": "dev"])
        s.sample(at: 1, 90, labels: ["worker": "3", "env": "prod"])
        s.sample(at: 2, 50, labels: ["worker": "1", "env": "prod"])
        #expect(s.transitions == ["t=0 fired high_memory/1", "t=1 fired high_memory/3", "t=2 resolved high_memory/1"])
        #expect(s.rules.series().map(\.group) == [["1"], ["3"]])
    }

    @Test("annotation placeholders: spaces allowed, unknown and unclosed ones left as written")
    func annotationPlaceholders() throws {
        let s = RuleScenario([rule("high_memory", .threshold(cond("> 80"), holdFor: nil),
                                   annotations: ["text": "v={{ value }} t={{threshold}} i={{iteration}} r={{rule}} x={{unknown}} l={{labels.team}} é open={{value"])])
        s.sample(at: 1, 85.5, iteration: 9)
        #expect(s.alert("high_memory")?.annotations["text"] == "v=85.5 t=80 i=9 r=high_memory x={{unknown}} l=platform é open={{value")
        #expect(s.alert("high_memory")?.annotations["summary"] == "high_memory: 85.5 (> 80)")
        #expect(s.alert("high_memory")?.annotations["rule_kind"] == "threshold")
    }

    @Test("rule alerts are silenced like event alerts")
    func silenced() throws {
        let s = RuleScenario([rule("high_memory", .threshold(cond("> 80"), holdFor: nil))])
        _ = try s.silencer.upsert(Silence(matchers: [try Matcher(name: "alertname", type: .equal, value: "high_memory")],
                                          startsAt: s.origin, endsAt: s.origin.addingTimeInterval(3600), createdBy: "op", comment: "maintenance"),
                                  now: s.origin)
        s.sample(at: 1, 85)
        s.run(to: 300)
        #expect(s.transitions == ["t=1 fired high_memory"])
        #expect(s.transcript.isEmpty)
    }
}

@Suite("Rules: state across restarts")
struct RuleRestartScenarios {
    @Test("a consecutive window half-filled before a restart completes after it")
    func windowSurvivesRestart() async throws {
        let rules = [rule("diversity_collapse", .consecutive(cond("< 0.1"), samples: 5), clear: "> 0.3")]
        let first = RuleScenario(rules)
        for t in 0..<3 { first.sample(at: Double(t), 0.05) }
        let persisted = try await first.persisted()
        #expect(persisted.ruleSeries.count == 1)

        let second = RuleScenario(rules, restoring: persisted, startAt: 10)
        second.sample(at: 10, 0.05)
        #expect(second.transitions.isEmpty)
        second.sample(at: 11, 0.05)
        #expect(second.transitions == ["t=11 fired diversity_collapse"])
    }

    @Test("a firing rule alert restored without its series still resolves when the condition stops holding")
    func firingAlertWithoutSeries() async throws {
        let rules = [rule("high_memory", .threshold(cond("> 80"), holdFor: nil), groupBy: ["worker"])]
        let first = RuleScenario(rules)
        first.sample(at: 0, 90, labels: ["worker": "4"])
        var persisted = try await first.persisted()
        persisted.ruleSeries = []   // e.g. crashed before the series was written

        let second = RuleScenario(rules, restoring: persisted, startAt: 10)
        second.sample(at: 10, 95, labels: ["worker": "4"])
        #expect(second.transitions.isEmpty, "still firing: not raised again")
        second.sample(at: 20, 10, labels: ["worker": "4"])
        #expect(second.transitions == ["t=20 resolved high_memory/4"])
    }

    @Test("rule series round-trip through JSON (the KV bucket's encoding)")
    func codable() throws {
        let s = RuleScenario([rule("low_success_rate", .aggregate(.avg, window: .samples(4), cond("< 0.5"), minSamples: 1))])
        for (i, v) in [1.0, 0, 0, 1, 0, 0].enumerated() { s.sample(at: Double(i), v) }
        let series = try #require(s.rules.series().first)
        let decoded = try JSONDecoder().decode(RuleSeries.self, from: JSONEncoder().encode(series))
        #expect(decoded == series)
        #expect(decoded.alertFiring && decoded.observed == 0.25)
    }
}

@Suite("Rules: conditions")
struct RuleConditionTests {
    @Test("conditions parse with or without spaces and reject what is not `<op> <number>`")
    func parsing() {
        #expect(Condition(parsing: "> 80") == Condition(.greater, 80))
        #expect(Condition(parsing: ">=3") == Condition(.greaterOrEqual, 3))
        #expect(Condition(parsing: " <= 0.1 ") == Condition(.lessOrEqual, 0.1))
        #expect(Condition(parsing: "!= 0") == Condition(.notEqual, 0))
        #expect(Condition(parsing: "== 1")?.holds(1) == true)
        for bad in ["80", "=> 3", "> eighty", ">", "~ 3", "> inf", "> nan"] {
            #expect(Condition(parsing: bad) == nil, "\(bad)")
        }
    }
}
