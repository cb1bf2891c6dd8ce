import AlertCore
@testable import AlertService
import Foundation
import Testing

@Suite("Configuration: event-stream rules")
struct RuleConfigTests {
    static let nats = """
        nats: {servers: ["nats://127.0.0.1:4222"], subjects: ["system.error.>", "simulation_worker.>"]}

        """

    @Test("the shipped config includes config/rules/resource-monitoring.yaml with the platform's conditions")
    func shippedRules() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let config = try ConfigLoader.load(path: root.appendingPathComponent("config/alerter.yaml").path)
        let byName = Dictionary(uniqueKeysWithValues: config.rules.map { ($0.name, $0) })
        #expect(byName["high_memory"]?.kind == .threshold(Condition(.greater, 80), holdFor: nil))
        #expect(byName["high_cpu"]?.kind == .threshold(Condition(.greater, 90), holdFor: nil))
        #expect(byName["diversity_collapse"]?.kind == .consecutive(Condition(.less, 0.1), samples: 5))
        #expect(byName["diversity_collapse"]?.clear == Condition(.greater, 0.3))
        #expect(byName["champion_staleness"]?.kind == .threshold(Condition(.greaterOrEqual, 20), holdFor: nil))
        #expect(byName["low_success_rate"]?.kind == .aggregate(.avg, window: .samples(10), Condition(.less, 0.2), minSamples: 1))
        #expect(byName["orphaned_containers"]?.kind == .threshold(Condition(.greaterOrEqual, 3), holdFor: nil))
        #expect(byName["worker_heartbeat_missing"]?.kind == .absence(after: .seconds(120)))
        #expect(config.rules.count == 7)
        // Rule alerts resolve by their rules, not by resolve_timeout.
        #expect(config.engine.resolveTimeoutByAlertType["worker_heartbeat_missing"] == AlerterConfig.ruleAlertResolveTimeout)
        #expect(!config.acceptedButUnused.contains("rules"))
    }

    @Test("every kind and option is read")
    func everyKind() throws {
        let config = try ConfigLoader.parse(yaml: Self.nats + """
            rules:
              - {name: a, kind: threshold, subjects: ["metrics.a"], condition: "> 80", for: 3, severity: critical,
                 labels: {team: infra}, annotations: {summary: "{{value}}"}, metric: mem, matchers: ['env="prod"'],
                 group_by: [host], clear: "< 70", flapping: {max_changes: 4, window: 30m}}
              - {name: b, kind: threshold, subjects: ["metrics.b"], condition: ">=1", for: 5m}
              - {name: c, kind: consecutive, subjects: ["metrics.c"], condition: "< 0.1", samples: 5}
              - {name: d, kind: aggregate, subjects: ["metrics.d"], function: rate, window: 10m, condition: "> 2"}
              - {name: e, kind: event_count, subjects: ["simulation_worker.process_crash"], count: 3, window: 10m}
              - {name: f, kind: absence, subjects: ["heartbeat.>"], for: 2m}
              - {name: g, kind: change, subjects: ["metrics.g"], for: 20}
            """)
        #expect(config.rules.map(\.name) == ["a", "b", "c", "d", "e", "f", "g"])
        let a = config.rules[0]
        #expect(a.kind == .threshold(Condition(.greater, 80), holdFor: .samples(3)))
        #expect(a.severity == .critical && a.labels == ["team": "infra"] && a.annotations == ["summary": "{{value}}"])
        #expect(a.metric == "mem" && a.matchers.map(\.description) == [#"env="prod""#] && a.groupBy == ["host"])
        #expect(a.clear == Condition(.less, 70) && a.flapping == FlappingPolicy(maxChanges: 4, window: .seconds(1800)))
        #expect(config.rules[1].kind == .threshold(Condition(.greaterOrEqual, 1), holdFor: .duration(.seconds(300))))
        #expect(config.rules[3].kind == .aggregate(.rate, window: .duration(.seconds(600)), Condition(.greater, 2), minSamples: 2))
        #expect(config.rules[4].kind == .eventCount(count: 3, window: .seconds(600)))
        #expect(config.rules[6].kind == .unchanged(.samples(20)))
    }

    @Test("bad operators, impossible windows and unknown subjects are reported with their YAML paths")
    func errors() {
        let found = issues(Self.nats + """
            rules:
              - {name: a, kind: threshold, subjects: ["metrics.a"], condition: "=> 80"}
              - {name: b, kind: consecutive, subjects: ["metrics.b"], condition: "< 0.1", samples: 0}
              - {name: c, kind: aggregate, subjects: ["metrics.c"], function: median, window: 0s, condition: "< 1"}
              - {name: d, kind: event_count, subjects: ["metrics.crash"], count: 3, window: 10m}
              - {name: e, kind: threshold, subjects: ["system.error.memory"], condition: "> 1"}
              - {name: f, kind: treshold, subjects: ["metrics.f"]}
              - {name: g, kind: consecutive, subjects: ["metrics..g"], condition: "< 0.1", samples: 5, clear: "< 0.3"}
              - {name: a, kind: absence, subjects: ["metrics.h"], for: 1m, clear: "> 1", windw: 3}
              - {kind: threshold, subjects: ["metrics.i"]}
              - {name: e, kind: absence, subjects: ["metrics.x"], for: 1m}
            """)
        let expected = [
            #"rules[0].condition: "=> 80" is not a condition"#,
            "rules[1].samples: must be at least 1, found 0",
            #"rules[2].function: unknown function "median""#,
            "rules[2].window: an empty time window is impossible",
            #"rules[3].subjects[0]: "metrics.crash" is not covered by nats.subjects"#,
            #"rules[4].subjects[0]: "system.error.memory" overlaps nats.subjects"#,
            #"rules[5].kind: unknown kind "treshold"; did you mean "threshold"?"#,
            #"rules[6].subjects[0]: "metrics..g" has an empty token"#,
            #"rules[6].clear: "< 0.3" overlaps the condition "< 0.1""#,
            "rules[7].windw: unknown field",
            "rules[7].clear: only threshold, consecutive and aggregate rules take a clear condition",
            "rules[8].name: missing",
            "rules[8].condition: missing: a threshold rule needs a condition",
        ]
        for text in expected {
            #expect(found.contains { $0.hasPrefix(text) || $0.contains(text) }, "missing \(text) in:\n\(found.joined(separator: "\n"))")
        }
        #expect(found.contains { $0.contains(#"rules[9].name: rule "e" is already defined at rules[4]"#) }, "\(found)")
    }

    @Test("rule_files are relative to the config file; problems inside one name the file and the path")
    func ruleFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rule-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("rules"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try """
            rules:
              - {name: ok, kind: threshold, subjects: ["metrics.ok"], condition: "> 1"}
            """.write(to: directory.appendingPathComponent("rules/a.yaml"), atomically: true, encoding: .utf8)
        try """
            rules:
              - name: broken
                kind: aggregate
                subjects: ["metrics.b"]
                function: avg
                window: -3
                condition: "< 1"
            """.write(to: directory.appendingPathComponent("rules/b.yaml"), atomically: true, encoding: .utf8)
        let found = issues(Self.nats + """
            rule_files: ["rules/*.yaml", "missing.yaml"]
            """, base: directory.path)
        #expect(found.contains { $0.hasPrefix("rules/b.yaml: rules[0].window: a window of -3 samples is impossible") && $0.contains("(line 6)") }, "\(found)")
        #expect(found.contains { $0.hasPrefix("rule_files[1]:") && $0.contains("missing.yaml does not exist") }, "\(found)")
        #expect(found.count == 2, "\(found)")

        try FileManager.default.removeItem(at: directory.appendingPathComponent("rules/b.yaml"))
        let config = try ConfigLoader.parse(yaml: Self.nats + "rule_files: [\"rules/*.yaml\"]\n", baseDirectory: directory.path)
        #expect(config.rules.map(\.name) == ["ok"])
    }
}
