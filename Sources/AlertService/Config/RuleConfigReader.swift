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
    static let kinds = ["absence", "aggregate", "change", "consecutive", "event_count", "threshold"]

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
            if case .mapping = node { r.fail("\(path).kind", "missing (one of: \(kinds.joined(separator: ", ")))", node) } else {
                r.fail(path, "expected a mapping (a rule), found \(YAMLReader.kind(node))", node)
            }
            return nil
        }
        guard let section = ConfigSection.rule(kind: kindName) else {
            let suggestion = YAMLReader.closest(to: kindName, in: Set(kinds)).map { "; did you mean \"\($0)\"?" } ?? ""
            r.fail("\(path).kind", "unknown kind \"\(kindName)\"\(suggestion) (allowed: \(kinds.joined(separator: ", ")))", node)
            return nil
        }
        let keys = section.keys(node, path, &r)
        var rule = RuleDraft(issuesBefore: r.issues.count)
        section.read(keys, of: node, path, into: &rule, &r, .withoutFiles)
        guard r.issues.count == rule.issuesBefore, let kind = rule.kind else { return nil }
        return EventRule(name: rule.name, kind: kind, severity: rule.severity, labels: rule.labels, annotations: rule.annotations,
                         subjects: rule.subjects, metric: rule.metric, matchers: rule.matchers, groupBy: rule.groupBy, clear: rule.clear,
                         flapping: rule.flapping)
    }

    /// A clear condition that holds where the fire condition holds would
    /// resolve the alert the moment it fires.
    static func checkHysteresis(fire: Condition, clear: Condition, _ path: String, _ r: inout YAMLReader) {
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
