import AlertCore
import Foundation
import Yams

/// Reads `rules:` (inline) and the files named by `rule_files:` into
/// `EventRule`s, reporting every problem with its YAML path — in an included
/// file as `<file>: rules[2].condition`.
///
/// ```yaml
/// rule_files: ["rules/*.yaml"]      # relative to the config file; each holds a `rules:` list
/// rules:
///   - name: high_memory             # the alert's alertname / alert_type
///     kind: threshold               # threshold | consecutive | aggregate | event_count | absence | change
///     subjects: ["metrics.memory.percent"]
///     condition: "> 80"
/// ```
enum RuleConfigReader {
    static let commonKeys: Set<String> = [
        "name", "kind", "severity", "labels", "annotations", "subjects", "metric", "matchers", "group_by", "clear", "flapping",
    ]
    static let kindKeys: [String: Set<String>] = [
        "threshold": ["condition", "for"],
        "consecutive": ["condition", "samples"],
        "aggregate": ["function", "window", "condition", "min_samples"],
        "event_count": ["count", "window"],
        "absence": ["for"],
        "change": ["for"],
    ]

    /// The rules of one `rules:` list. `prefix` is "" inline, or "<file>: " for an included file.
    /// Each rule with its YAML path, for later cross-checks.
    typealias Located = (rule: EventRule, path: String)

    static func readRules(_ node: Node, prefix: String, _ r: inout YAMLReader) -> [Located] {
        var rules: [Located] = []
        for (index, item) in r.sequence(node, prefix + "rules").enumerated() {
            let path = "\(prefix)rules[\(index)]"
            if let rule = readRule(item, path, &r) { rules.append((rule, path)) }
        }
        return rules
    }

    /// The files matched by `rule_files:` patterns, each read for its `rules:`.
    static func readRuleFiles(_ node: Node, baseDirectory: String, _ r: inout YAMLReader) -> [Located] {
        var rules: [Located] = []
        for (index, pattern) in r.strings(node, "rule_files").enumerated() {
            let path = "rule_files[\(index)]"
            let absolute = pattern.hasPrefix("/") ? pattern : baseDirectory + "/" + pattern
            let files = glob(absolute)
            if files.isEmpty {
                r.fail(path, pattern.contains("*") ? "\"\(pattern)\" matches no file" : "\(absolute) does not exist", node)
                continue
            }
            for file in files {
                let shown = file.hasPrefix(baseDirectory + "/") ? String(file.dropFirst(baseDirectory.count + 1)) : file
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    r.fail(path, "cannot read \(file)")
                    continue
                }
                let root: Node?
                do {
                    root = try Yams.compose(yaml: text)
                } catch {
                    r.fail("\(shown)", "not valid YAML: \(error)")
                    continue
                }
                for (key, value) in r.mapping(root, shown, allowed: ["rules"]) where key == "rules" {
                    rules += readRules(value, prefix: "\(shown): ", &r)
                }
            }
        }
        return rules
    }

    /// Cross-checks rules against each other and the event subscriptions.
    static func validate(_ rules: [Located], eventSubjects: [String], _ r: inout YAMLReader) {
        var seen: [String: String] = [:]
        for (rule, path) in rules {
            if let first = seen[rule.name] {
                r.fail("\(path).name", "rule \"\(rule.name)\" is already defined at \(first) (a rule's name is its alerts' alertname)")
            }
            seen[rule.name] = seen[rule.name] ?? path
        }
        for (rule, path) in rules {
            for (index, subject) in rule.subjects.enumerated() {
                let covered = eventSubjects.contains { subjectsOverlap($0, subject.description) }
                switch rule.kind {
                case .eventCount:
                    if !covered {
                        r.fail("\(path).subjects[\(index)]", "\"\(subject)\" is not covered by nats.subjects: an event_count rule counts events, and no event would arrive there")
                    }
                case .absence:
                    break  // fed by events where nats.subjects cover it, by samples elsewhere
                default:
                    if covered {
                        r.fail("\(path).subjects[\(index)]", "\"\(subject)\" overlaps nats.subjects: a subject carries either events (AlertEvent) or samples (MetricSample), not both")
                    }
                }
            }
        }
    }

    // MARK: One rule

    private static func readRule(_ node: Node, _ path: String, _ r: inout YAMLReader) -> EventRule? {
        // Read `kind` first: it decides which other keys are allowed.
        var kindName: String?
        if case .mapping(let mapping) = node, let kindNode = mapping["kind"] {
            kindName = r.string(kindNode, "\(path).kind")
        }
        guard let kindName else {
            if case .mapping = node { r.fail("\(path).kind", "missing (one of: \(kindKeys.keys.sorted().joined(separator: ", ")))", node) } else {
                r.fail(path, "expected a mapping (a rule), found \(YAMLReader.kind(node))", node)
            }
            return nil
        }
        guard let extra = kindKeys[kindName] else {
            let suggestion = YAMLReader.closest(to: kindName, in: Set(kindKeys.keys)).map { "; did you mean \"\($0)\"?" } ?? ""
            r.fail("\(path).kind", "unknown kind \"\(kindName)\"\(suggestion) (allowed: \(kindKeys.keys.sorted().joined(separator: ", ")))", node)
            return nil
        }
        let fields = Dictionary(r.mapping(node, path, allowed: commonKeys.union(extra)), uniquingKeysWith: { first, _ in first })
        let failures = r.issues.count
        func field(_ key: String) -> (Node, String)? { fields[key].map { ($0, "\(path).\(key)") } }

        var name = ""
        if let (value, p) = field("name"), let text = r.string(value, p) {
            if text.isEmpty || text.utf8.count > 200 { r.fail(p, "a rule name must be 1 to 200 bytes", value) }
            name = text
        } else if fields["name"] == nil {
            r.fail("\(path).name", "missing: the rule's name is its alerts' alertname", node)
        }
        var severity = Severity.warning
        if let (value, p) = field("severity"), let text = r.string(value, p) {
            if let parsed = Severity(name: text), parsed != .unspecified { severity = parsed } else {
                r.fail(p, "unknown severity \"\(text)\" (allowed: info, warning, error, critical)", value)
            }
        }
        var labels: [String: String] = [:]
        if let (value, p) = field("labels") {
            for (key, item) in r.mapping(value, p) {
                if !AlertEvent.isValidLabelName(key) || ["alertname", "severity"].contains(key) {
                    r.fail("\(p).\(key)", "not a usable label name (must match [a-zA-Z_][a-zA-Z0-9_]*; alertname and severity come from name and severity)", item)
                }
                labels[key] = r.string(item, "\(p).\(key)")
            }
        }
        var annotations: [String: String] = [:]
        if let (value, p) = field("annotations") {
            for (key, item) in r.mapping(value, p) { annotations[key] = r.string(item, "\(p).\(key)") }
        }
        var subjects: [SubjectPattern] = []
        if let (value, p) = field("subjects") {
            for (index, subject) in r.strings(value, p).enumerated() {
                if let problem = ConfigLoader.validateSubject(subject, wildcards: true) {
                    r.fail("\(p)[\(index)]", problem, value)
                } else {
                    subjects.append(SubjectPattern(subject))
                }
            }
            if subjects.isEmpty && r.issues.count == failures { r.fail(p, "at least one subject is needed", value) }
        } else {
            r.fail("\(path).subjects", "missing: the NATS subjects the rule's samples (or events) arrive on", node)
        }
        let metric = field("metric").flatMap { r.string($0.0, $0.1) }
        let matchers = field("matchers").map { RoutingConfigReader.readMatchers($0.0, $0.1, &r) } ?? []
        var groupBy: [String] = []
        if let (value, p) = field("group_by") {
            groupBy = r.strings(value, p)
            for (index, label) in groupBy.enumerated() where !RoutingConfigReader.isLabelName(label) || label == "alertname" || label == "severity" {
                r.fail("\(p)[\(index)]", "\"\(label)\" is not a usable label name", value)
            }
            if Set(groupBy).count != groupBy.count { r.fail(p, "duplicated label in group_by", value) }
        }
        var flapping: FlappingPolicy?
        if let (value, p) = field("flapping") {
            var maxChanges: Int?
            var window: Duration?
            for (key, item) in r.mapping(value, p, allowed: ["max_changes", "window"]) {
                if key == "max_changes" { maxChanges = r.int(item, "\(p).max_changes", min: 1) } else { window = r.duration(item, "\(p).window", allowZero: false) }
            }
            if let maxChanges, let window { flapping = FlappingPolicy(maxChanges: maxChanges, window: window) } else if r.issues.count == failures {
                r.fail(p, "needs both max_changes and window (e.g. {max_changes: 4, window: 30m})", value)
            }
        }
        let condition = field("condition").flatMap { readCondition($0.0, $0.1, &r) }
        let clear = field("clear").flatMap { readCondition($0.0, $0.1, &r) }
        func require<T>(_ value: T?, _ key: String, _ hint: String) -> T? {
            if value == nil, fields[key] == nil { r.fail("\(path).\(key)", "missing: a \(kindName) rule needs \(hint)", node) }
            return value
        }

        var kind: RuleKind?
        switch kindName {
        case "threshold":
            let holdFor = field("for").flatMap { readWindow($0.0, $0.1, &r) }
            if let condition = require(condition, "condition", "a condition such as \"> 80\"") { kind = .threshold(condition, holdFor: holdFor) }
        case "consecutive":
            let samples = field("samples").flatMap { r.int($0.0, $0.1, min: 1) }
            if let condition = require(condition, "condition", "a condition such as \"< 0.1\""),
               let samples = require(samples, "samples", "samples: N (how many samples in a row)") {
                kind = .consecutive(condition, samples: samples)
            }
        case "aggregate":
            var function: Aggregation?
            if let (value, p) = field("function"), let text = r.string(value, p) {
                function = Aggregation(rawValue: text)
                if function == nil { r.fail(p, "unknown function \"\(text)\" (allowed: \(Aggregation.allCases.map(\.rawValue).joined(separator: ", ")))", value) }
            }
            let window = field("window").flatMap { readWindow($0.0, $0.1, &r) }
            var minSamples = 1
            if let (value, p) = field("min_samples"), let n = r.int(value, p, min: 1) {
                minSamples = n
                if case .samples = window { r.fail(p, "only for a time window: a window of N samples always waits for N", value) }
            }
            if function == .rate {
                if case .samples(let n)? = window, n < 2 { r.fail("\(path).window", "a rate needs a window of at least 2 samples") }
                if case .duration = window, fields["min_samples"] == nil { minSamples = 2 }
                if case .duration = window, minSamples < 2 { r.fail("\(path).min_samples", "a rate needs at least 2 samples") }
            }
            if let function = require(function, "function", "function: avg, min, max, sum or rate"),
               let window = require(window, "window", "window: N samples or a duration such as 10m"),
               let condition = require(condition, "condition", "a condition such as \"< 0.2\"") {
                kind = .aggregate(function, window: window, condition, minSamples: minSamples)
            }
        case "event_count":
            let count = field("count").flatMap { r.int($0.0, $0.1, min: 1) }
            let window = field("window").flatMap { r.duration($0.0, $0.1, allowZero: false) }
            if let count, count > RuleSeries.maxWindowSamples {
                r.fail("\(path).count", "at most \(RuleSeries.maxWindowSamples) events are kept per series")
            }
            if let count = require(count, "count", "count: N (events)"), let window = require(window, "window", "window: a duration such as 10m") {
                kind = .eventCount(count: count, window: window)
            }
        case "absence":
            let after = field("for").flatMap { r.duration($0.0, $0.1, allowZero: false) }
            if let after = require(after, "for", "for: a duration such as 2m (how long without a sample)") { kind = .absence(after: after) }
        case "change":
            let window = field("for").flatMap { readWindow($0.0, $0.1, &r) }
            if let window = require(window, "for", "for: N samples or a duration (how long unchanged)") { kind = .unchanged(window) }
        default:
            break
        }
        if clear != nil {
            switch kindName {
            case "threshold", "consecutive", "aggregate": break
            default: r.fail("\(path).clear", "only threshold, consecutive and aggregate rules take a clear condition")
            }
        }
        if let condition, let clear { checkHysteresis(fire: condition, clear: clear, "\(path).clear", &r) }
        guard r.issues.count == failures, let kind else { return nil }
        return EventRule(name: name, kind: kind, severity: severity, labels: labels, annotations: annotations, subjects: subjects,
                         metric: metric, matchers: matchers, groupBy: groupBy, clear: clear, flapping: flapping)
    }

    private static func readCondition(_ node: Node, _ path: String, _ r: inout YAMLReader) -> Condition? {
        guard let text = r.string(node, path) else { return nil }
        guard let condition = Condition(parsing: text) else {
            r.fail(path, "\"\(text)\" is not a condition: an operator (>, >=, <, <=, ==, !=) and a number, quoted, e.g. \"> 80\"", node)
            return nil
        }
        return condition
    }

    /// `10` (samples) or `10m` (a duration).
    private static func readWindow(_ node: Node, _ path: String, _ r: inout YAMLReader) -> RuleWindow? {
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

    /// A clear condition that holds where the fire condition holds would
    /// resolve the alert the moment it fires.
    private static func checkHysteresis(fire: Condition, clear: Condition, _ path: String, _ r: inout YAMLReader) {
        let a = fire.threshold, b = clear.threshold
        let probes = [a, b, (a + b) / 2, a.nextUp, a.nextDown, b.nextUp, b.nextDown, -1e300, 1e300]
        if let both = probes.first(where: { fire.holds($0) && clear.holds($0) }) {
            r.fail(path, "\"\(clear)\" overlaps the condition \"\(fire)\": a value of \(both) would fire and clear at once")
        }
    }

    /// Whether some subject matches both patterns.
    static func subjectsOverlap(_ a: String, _ b: String) -> Bool {
        let x = a.split(separator: ".", omittingEmptySubsequences: false)
        let y = b.split(separator: ".", omittingEmptySubsequences: false)
        var index = 0
        while index < x.count, index < y.count {
            if x[index] == ">" || y[index] == ">" { return true }
            if x[index] != "*", y[index] != "*", x[index] != y[index] { return false }
            index += 1
        }
        return x.count == y.count
    }

    private static func glob(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard Foundation.glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }
}
