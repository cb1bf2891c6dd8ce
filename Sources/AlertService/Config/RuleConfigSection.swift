import AlertCore
import Yams

/// One rule as its keys are read; `kind` is made from them once all are.
struct RuleDraft {
    /// The reader's issue count once unknown keys are reported: some
    /// problems are only worth naming when the rule's values have no other.
    let issuesBefore: Int
    var name = ""
    var severity = Severity.warning
    var labels: [String: String] = [:]
    var annotations: [String: String] = [:]
    var subjects: [SubjectPattern] = []
    var metric: String?
    var matchers: [Matcher] = []
    var groupBy: [String] = []
    var clear: Condition?
    var flapping: FlappingPolicy?
    var condition: Condition?
    /// `for` of threshold and change rules, `window` of aggregate rules.
    var holdFor: RuleWindow?, window: RuleWindow?
    /// `for` of absence rules, `window` of event_count rules.
    var after: Duration?, countWindow: Duration?
    var samples: Int?, minSamples: Int?, count: Int?
    var function: Aggregation?
    var kind: RuleKind?
}

extension ConfigSection<RuleDraft> {
    /// A rule of `kind`: the keys every rule takes, then its kind's; nil for an unknown kind.
    static func rule(kind: String) -> Self? {
        let condition = ConfigField<RuleDraft>.key("condition", \.condition, .condition, doc: "an operator and a number, quoted: \"> 80\"")
        let kindFields: [ConfigField<RuleDraft>]
        switch kind {
        case "threshold": kindFields = [condition, .key("for", \.holdFor, .window, doc: "how many samples, or how long, the condition must hold")]
        case "consecutive": kindFields = [condition, .key("samples", \.samples, .int(min: 1), doc: "how many samples in a row")]
        case "aggregate":
            kindFields = [
                .key("function", \.function, .oneOf("function"), doc: "avg, min, max, sum or rate"),
                .key("window", \.window, .window, doc: "N samples or a duration"), condition,
                .key("min_samples", \.minSamples, .int(min: 1), doc: "samples a time window needs before it is judged"),
            ]
        case "event_count":
            kindFields = [
                .key("count", \.count, .int(min: 1).checked(line: false) {
                    $0 > RuleSeries.maxWindowSamples ? "at most \(RuleSeries.maxWindowSamples) events are kept per series" : nil
                }, doc: "events within the window that fire the alert"),
                .key("window", \.countWindow, .duration(allowZero: false), doc: "a duration"),
            ]
        case "absence": kindFields = [.key("for", \.after, .duration(allowZero: false), doc: "how long without a sample")]
        case "change": kindFields = [.key("for", \.holdFor, .window, doc: "N samples or a duration without a change")]
        default: return nil
        }
        let common: [ConfigField<RuleDraft>] = [
            .key("name", \.name, .string.checked { $0.isEmpty || $0.utf8.count > 200 ? "a rule name must be 1 to 200 bytes" : nil },
                 doc: "the alerts' alertname and alert_type; unique"),
            // Read before the section: it decides the other keys.
            .custom("kind", doc: "threshold, consecutive, aggregate, event_count, absence or change") { _, _, _, _, _ in },
            .key("severity", \.severity, severity, doc: "info, warning (the default), error or critical"),
            .custom("labels", doc: "extra labels of the alerts") { rule, node, path, r, _ in
                for (key, item) in r.mapping(node, path) {
                    if !AlertEvent.isValidLabelName(key) || ["alertname", "severity"].contains(key) {
                        r.fail("\(path).\(key)", "not a usable label name (must match [a-zA-Z_][a-zA-Z0-9_]*; alertname and severity come from name and severity)", item)
                    }
                    rule.labels[key] = r.string(item, "\(path).\(key)")
                }
            },
            .custom("annotations", doc: "text with {{value}}, {{threshold}}, {{labels.NAME}}…") { rule, node, path, r, _ in
                for (key, item) in r.mapping(node, path) { rule.annotations[key] = r.string(item, "\(path).\(key)") }
            },
            .key("subjects", \.subjects, subjects, doc: "NATS subjects the rule's samples (or events) arrive on"),
            .key("metric", \.metric, .string, doc: "only samples with this name"),
            .custom("matchers", doc: "only samples whose labels match") { rule, node, path, r, _ in
                rule.matchers = RoutingConfigReader.readMatchers(node, path, &r)
            },
            .key("group_by", \.groupBy, groupBy, doc: "one series, and one alert, per value set of these labels"),
            .key("clear", \.clear, .condition, doc: "a firing alert resolves only once this holds"),
            .section("flapping", \.flapping, Self.flapping, from: FlappingPolicy(maxChanges: 0, window: .zero), doc: "{max_changes, window}"),
        ]
        return Self(fields: common + kindFields, combine: { rule, entries, r, _ in
            rule.kind = makeKind(kind, &rule, entries, &r)
        })
    }

    private static var severity: ConfigParser<Severity> {
        ConfigParser<String>.string.map({ (name: String) -> Severity? in Severity(name: name).flatMap { $0 == .unspecified ? nil : $0 } },
                                        otherwise: { "unknown severity \"\($0)\" (allowed: info, warning, error, critical)" })
    }

    private static var subjects: ConfigParser<[SubjectPattern]> {
        ConfigParser<[String]>.strings.eachChecked { ConfigLoader.validateSubject($0, wildcards: true) }.map { $0.map(SubjectPattern.init) }
    }

    private static var groupBy: ConfigParser<[String]> {
        ConfigParser<[String]>.strings.eachChecked { (label: String) -> String? in
            !RoutingConfigReader.isLabelName(label) || label == "alertname" || label == "severity" ? "\"\(label)\" is not a usable label name" : nil
        }.checked { (labels: [String]) -> String? in Set(labels).count != labels.count ? "duplicated label in group_by" : nil }
    }

    private static var flapping: ConfigSection<FlappingPolicy> {
        ConfigSection<FlappingPolicy>(fields: [
            .key("max_changes", \.maxChanges, .int(min: 1), doc: "changes within the window that mark the alert flapping"),
            .key("window", \.window, .duration(allowZero: false), doc: "a duration"),
        ])
    }

    /// The checks that span keys, and the rule's kind when nothing is missing.
    private static func makeKind(_ kind: String, _ rule: inout RuleDraft, _ entries: ConfigEntries, _ r: inout YAMLReader) -> RuleKind? {
        let path = entries.path, node = entries.node
        if entries.nodes["name"] == nil { r.fail("\(path).name", "missing: the rule's name is its alerts' alertname", node) }
        // An empty list or a half flapping policy is named only when the keys
        // that identify the rule (and, for flapping, select its samples) are sound.
        let identity = ["name", "severity", "labels", "annotations", "subjects"], selection = ["metric", "matchers", "group_by", "flapping"]
        func sound(_ keys: [String]) -> Bool {
            r.issues[rule.issuesBefore...].allSatisfy { issue in
                !keys.contains { issue.path == "\(path).\($0)" || issue.path.hasPrefix("\(path).\($0).") || issue.path.hasPrefix("\(path).\($0)[") }
            }
        }
        if let subjects = entries.nodes["subjects"] {
            if rule.subjects.isEmpty && sound(identity) { r.fail("\(path).subjects", "at least one subject is needed", subjects) }
        } else {
            r.fail("\(path).subjects", "missing: the NATS subjects the rule's samples (or events) arrive on", node)
        }
        if let flapping = rule.flapping, flapping.maxChanges == 0 || flapping.window == .zero {
            rule.flapping = nil
            if sound(identity + selection) {
                r.fail("\(path).flapping", "needs both max_changes and window (e.g. {max_changes: 4, window: 30m})", entries.nodes["flapping"])
            }
        }
        func require<T>(_ value: T?, _ key: String, _ hint: String) -> T? {
            if value == nil, entries.nodes[key] == nil { r.fail("\(path).\(key)", "missing: a \(kind) rule needs \(hint)", node) }
            return value
        }
        var made: RuleKind?
        switch kind {
        case "threshold":
            if let condition = require(rule.condition, "condition", "a condition such as \"> 80\"") { made = .threshold(condition, holdFor: rule.holdFor) }
        case "consecutive":
            if let condition = require(rule.condition, "condition", "a condition such as \"< 0.1\""),
               let samples = require(rule.samples, "samples", "samples: N (how many samples in a row)") {
                made = .consecutive(condition, samples: samples)
            }
        case "aggregate":
            if let minSamples = entries.nodes["min_samples"], rule.minSamples != nil, case .samples = rule.window {
                r.fail("\(path).min_samples", "only for a time window: a window of N samples always waits for N", minSamples)
            }
            var minSamples = rule.minSamples ?? 1
            if rule.function == .rate {
                if case .samples(let n)? = rule.window, n < 2 { r.fail("\(path).window", "a rate needs a window of at least 2 samples") }
                if case .duration = rule.window, entries.nodes["min_samples"] == nil { minSamples = 2 }
                if case .duration = rule.window, minSamples < 2 { r.fail("\(path).min_samples", "a rate needs at least 2 samples") }
            }
            if let function = require(rule.function, "function", "function: avg, min, max, sum or rate"),
               let window = require(rule.window, "window", "window: N samples or a duration such as 10m"),
               let condition = require(rule.condition, "condition", "a condition such as \"< 0.2\"") {
                made = .aggregate(function, window: window, condition, minSamples: minSamples)
            }
        case "event_count":
            if let count = require(rule.count, "count", "count: N (events)"), let window = require(rule.countWindow, "window", "window: a duration such as 10m") {
                made = .eventCount(count: count, window: window)
            }
        case "absence":
            if let after = require(rule.after, "for", "for: a duration such as 2m (how long without a sample)") { made = .absence(after: after) }
        default:
            if let window = require(rule.holdFor, "for", "for: N samples or a duration (how long unchanged)") { made = .unchanged(window) }
        }
        if rule.clear != nil, !["threshold", "consecutive", "aggregate"].contains(kind) {
            r.fail("\(path).clear", "only threshold, consecutive and aggregate rules take a clear condition")
        }
        if let condition = rule.condition, let clear = rule.clear { RuleConfigReader.checkHysteresis(fire: condition, clear: clear, "\(path).clear", &r) }
        return made
    }
}

extension ConfigParser<Condition> {
    static var condition: Self {
        ConfigParser<String>.string.map(Condition.init(parsing:), otherwise: {
            "\"\($0)\" is not a condition: an operator (>, >=, <, <=, ==, !=) and a number, quoted, e.g. \"> 80\""
        })
    }
}

extension ConfigParser<RuleWindow> {
    /// `10` (samples) or `10m` (a duration).
    static var window: Self {
        Self { node, path, r, _ in
            guard let text = r.string(node, path) else { return nil }
            if let count = Int(text) {
                guard count >= 1 else {
                    r.fail(path, "a window of \(count) samples is impossible: at least 1", node)
                    return nil
                }
                guard count <= RuleSeries.maxWindowSamples else {
                    r.fail(path, "at most \(RuleSeries.maxWindowSamples) samples are kept per series", node)
                    return nil
                }
                return .samples(count)
            }
            guard let duration = PrometheusDuration.parse(text) else {
                r.fail(path, "\"\(text)\" is neither a number of samples nor a duration (e.g. 5, 30s, 10m)", node)
                return nil
            }
            guard duration > .zero else {
                r.fail(path, "an empty time window is impossible: must be greater than 0", node)
                return nil
            }
            return .duration(duration)
        }
    }
}
