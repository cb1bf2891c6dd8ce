public import AlertCore
import AlertIngest
import Foundation
import Yams

/// Reads `nats-alerter test` scenario files (docs/testing-configs.md). Every
/// problem is reported with its YAML path, as `check-config` reports config
/// problems; nothing half-read is returned.
public enum ScenarioFileReader {
    static let fileKeys: Set<String> = ["config", "scenarios"]
    static let scenarioKeys: Set<String> = ["name", "start", "events", "samples", "silences", "expect", "until"]
    static let eventKeys: Set<String> = ["at", "subject", "event"]
    static let sampleKeys: Set<String> = ["at", "subject", "sample"]
    static let silenceKeys: Set<String> = ["at", "matchers", "duration", "comment"]
    static let expectationKeys: Set<String> = ["at", "receiver", "integration", "group", "firing", "resolved"]
    /// The fields `JSONEventDecoder` and `JSONSampleDecoder` read. The wire
    /// decoders ignore others (a newer publisher's); a test file names them
    /// as errors, so a misspelt field is not silently left out.
    static let eventFields: Set<String> = [
        "alert_type", "alertType", "severity", "status", "source", "summary", "description", "labels", "annotations",
        "occurred_at_unix_ms", "occurredAtUnixMs", "current_value", "currentValue", "threshold_value", "thresholdValue",
        "iteration", "dedup_key", "dedupKey", "event_id", "eventId", "generator_url", "generatorUrl",
    ]
    static let sampleFields: Set<String> = ["name", "value", "labels", "iteration", "occurred_at_unix_ms", "occurredAtUnixMs", "source"]

    public static func load(path: String) throws(ConfigError) -> ScenarioFile {
        let text = try YAMLReader.text(ofFile: path)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(yaml: text, file: path, baseDirectory: base)
    }

    /// Parses scenario text; a `config:` path resolves against `baseDirectory`.
    public static func parse(yaml: String, file: String, baseDirectory: String) throws(ConfigError) -> ScenarioFile {
        let root = try YAMLReader.compose(yaml, file: file)
        var reader = YAMLReader()
        let sections = reader.mapping(root, "", allowed: fileKeys)
        let section = { (name: String) in sections.first { $0.0 == name }?.1 }
        var config: AlerterConfig?
        if let node = section("config") {
            config = readConfig(node, text: yaml, baseDirectory: baseDirectory, &reader)
        } else {
            reader.fail("config", "missing: a config file path (relative to this file) or an inline config mapping")
        }
        var scenarios: [ConfigScenario] = []
        if let node = section("scenarios") {
            let items = reader.sequence(node, "scenarios")
            if items.isEmpty { reader.fail("scenarios", "at least one scenario is needed", node) }
            for (index, item) in items.enumerated() {
                // Without a valid config, only what does not depend on it is checked.
                scenarios.append(readScenario(item, "scenarios[\(index)]", config: config ?? AlerterConfig(), checkAgainstConfig: config != nil, &reader))
            }
        } else {
            reader.fail("scenarios", "missing: a list of scenarios")
        }
        guard reader.issues.isEmpty, let config else { throw ConfigError(file: file, issues: reader.issues) }
        return ScenarioFile(path: file, config: config, scenarios: scenarios)
    }

    // MARK: Sections

    static func readConfig(_ node: Node, text: String, baseDirectory: String, _ r: inout YAMLReader) -> AlerterConfig? {
        var firstLine = 1
        do throws(ConfigError) {
            switch node {
            case .scalar(let scalar):
                let path = scalar.string.hasPrefix("/") ? scalar.string : baseDirectory + "/" + scalar.string
                return try ConfigLoader.load(path: path, requireNATS: false)
            case .mapping:
                let inline: String
                if let (block, line) = blockText(of: node, in: text) {
                    (inline, firstLine) = (block, line)
                } else {
                    do {
                        inline = try Yams.serialize(node: node)
                    } catch {
                        r.fail("config", "cannot read the inline config: \(error)", node)
                        return nil
                    }
                }
                return try ConfigLoader.parse(yaml: inline, file: "config", baseDirectory: baseDirectory, requireNATS: false)
            default:
                r.fail("config", "expected a config file path or an inline config mapping, found \(YAMLReader.kind(node))", node)
                return nil
            }
        } catch {
            for issue in error.issues {
                if case .mapping = node {
                    r.fail(YAMLReader.child("config", issue.path), issue.message, line: issue.line.map { $0 + firstLine - 1 } ?? node.mark?.line)
                } else {
                    r.fail("config", "\(error.file): \(issue)", node)
                }
            }
            return nil
        }
    }

    /// A block mapping's own lines, unindented, and the line they start at,
    /// so the config loader's line numbers map back onto the scenario file.
    /// Nil for a flow mapping (`config: {...}`).
    static func blockText(of node: Node, in text: String) -> (String, Int)? {
        guard case .mapping(let mapping) = node, mapping.style == .block, let mark = node.mark else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line >= 1, mark.line <= lines.count else { return nil }
        // It ends where a line starts at column 1 again (the next top-level key).
        var end = mark.line
        while end < lines.count, lines[end].first.map({ $0 == " " || $0 == "#" }) ?? true { end += 1 }
        let indent = mark.column - 1
        let body = lines[(mark.line - 1)..<end].map { line in
            line.prefix(indent).allSatisfy { $0 == " " } ? line.dropFirst(min(indent, line.count)) : line[...]
        }
        return (body.joined(separator: "\n"), mark.line)
    }

    static func readScenario(_ node: Node, _ path: String, config: AlerterConfig, checkAgainstConfig: Bool,
                             _ r: inout YAMLReader) -> ConfigScenario {
        var scenario = ConfigScenario(name: path, path: path, line: node.mark?.line, start: ConfigScenario.defaultStart,
                                      inputs: [], expectations: [], until: 0)
        var until: Double?
        var lastSubject: [String: String] = [:]
        for (key, value) in r.mapping(node, path, allowed: scenarioKeys) {
            let child = YAMLReader.child(path, key)
            switch key {
            case "name":
                if let name = r.string(value, child) { scenario.name = name }
            case "start":
                guard let text = r.string(value, child) else { break }
                if let date = Date(rfc3339: text) { scenario.start = date } else { r.fail(child, "\"\(text)\" is not an RFC 3339 time (2027-01-15T08:00:00Z)", value) }
            case "events":
                for (index, item) in r.sequence(value, child).enumerated() {
                    if let input = readEvent(item, "\(child)[\(index)]", config: config, lastSubject: &lastSubject, &r) { scenario.inputs.append(input) }
                }
            case "samples":
                for (index, item) in r.sequence(value, child).enumerated() {
                    if let input = readSample(item, "\(child)[\(index)]", config: config, checkAgainstConfig: checkAgainstConfig, &r) { scenario.inputs.append(input) }
                }
            case "silences":
                for (index, item) in r.sequence(value, child).enumerated() {
                    if let input = readSilence(item, "\(child)[\(index)]", &r) { scenario.inputs.append(input) }
                }
            case "expect":
                for (index, item) in r.sequence(value, child).enumerated() {
                    if let expectation = readExpectation(item, "\(child)[\(index)]", config: config, checkAgainstConfig: checkAgainstConfig, &r) { scenario.expectations.append(expectation) }
                }
            default:
                until = r.duration(value, child).map(\.seconds)
            }
        }
        // At one time, silences first (a silence and an event at 0s: the event is muted), then the rest in file order.
        func rank(_ input: TimedInput) -> Int { if case .silence = input.input { 0 } else { 1 } }
        scenario.inputs = scenario.inputs.enumerated().sorted {
            ($0.element.at, rank($0.element), $0.offset) < ($1.element.at, rank($1.element), $1.offset)
        }.map(\.element)
        let latest = (scenario.inputs.map(\.at) + scenario.expectations.map(\.at)).max() ?? 0
        if let until, until < latest {
            r.fail(YAMLReader.child(path, "until"), "ends before the last event or expectation (\(PrometheusDuration.format(.seconds(latest))))", node)
        }
        scenario.until = until ?? latest
        return scenario
    }

    static func at(_ fields: [(String, Node)], _ path: String, _ node: Node, _ r: inout YAMLReader) -> Double? {
        guard let value = fields.first(where: { $0.0 == "at" })?.1 else {
            r.fail(YAMLReader.child(path, "at"), "missing: when, after the scenario's start (0s, 5m30s)", node)
            return nil
        }
        return r.duration(value, YAMLReader.child(path, "at")).map(\.seconds)
    }

    static func readEvent(_ node: Node, _ path: String, config: AlerterConfig, lastSubject: inout [String: String],
                          _ r: inout YAMLReader) -> TimedInput? {
        let fields = r.mapping(node, path, allowed: eventKeys)
        let time = at(fields, path, node, &r)
        guard let body = fields.first(where: { $0.0 == "event" })?.1 else {
            r.fail(YAMLReader.child(path, "event"), "missing: the AlertEvent's fields (alert_type, severity, source, labels, ...)", node)
            return nil
        }
        let explicitSubject = fields.first { $0.0 == "subject" }.flatMap { r.string($0.1, YAMLReader.child(path, "subject")) }
        let decoded = decode(body, YAMLReader.child(path, "event"), fields: eventFields, &r) { bytes throws(EventRejection) in
            try JSONEventDecoder.decode(bytes, subject: "")
        }
        guard var event = decoded else { return nil }
        // A resolve need not repeat its alert's subject: the last one given for the alert type holds.
        guard let subject = explicitSubject ?? lastSubject[event.alertType] else {
            r.fail(YAMLReader.child(path, "subject"), "missing: the NATS subject the event is published on (an earlier event of \"\(event.alertType)\" would lend its own)", node)
            return nil
        }
        lastSubject[event.alertType] = subject
        event.subject = subject
        checkSubscribed(subject, config.nats.subjects, YAMLReader.child(path, "subject"), node, &r)
        guard accepted("event", path, body, &r, { () throws(EventRejection) in try event.validate(config.nats.limits) }) else { return nil }
        return time.map { TimedInput(at: $0, input: .event(event), path: path) }
    }

    static func readSample(_ node: Node, _ path: String, config: AlerterConfig, checkAgainstConfig: Bool, _ r: inout YAMLReader) -> TimedInput? {
        let fields = r.mapping(node, path, allowed: sampleKeys)
        let time = at(fields, path, node, &r)
        guard let subject = fields.first(where: { $0.0 == "subject" }).flatMap({ r.string($0.1, YAMLReader.child(path, "subject")) }) else {
            r.fail(YAMLReader.child(path, "subject"), "missing: the NATS subject the sample is published on", node)
            return nil
        }
        guard let body = fields.first(where: { $0.0 == "sample" })?.1 else {
            r.fail(YAMLReader.child(path, "sample"), "missing: the MetricSample's fields (value, labels, iteration, source, ...)", node)
            return nil
        }
        if checkAgainstConfig, !config.rules.contains(where: { $0.subjects.contains { $0.matches(subject) } }) {
            r.fail(YAMLReader.child(path, "subject"), "no rule of the config reads samples on \"\(subject)\"", node)
        }
        let decoded = decode(body, YAMLReader.child(path, "sample"), fields: sampleFields, &r) { bytes throws(EventRejection) in
            try JSONSampleDecoder.decode(bytes, subject: subject)
        }
        guard let sample = decoded else { return nil }
        guard accepted("sample", path, body, &r, { () throws(EventRejection) in try sample.validate(config.nats.limits) }) else { return nil }
        return time.map { TimedInput(at: $0, input: .sample(sample), path: path) }
    }

    static func readSilence(_ node: Node, _ path: String, _ r: inout YAMLReader) -> TimedInput? {
        let fields = r.mapping(node, path, allowed: silenceKeys)
        let time = at(fields, path, node, &r)
        var matchers: [Matcher] = []
        var duration: Duration?
        var comment = "nats-alerter test"
        for (key, value) in fields {
            let child = YAMLReader.child(path, key)
            switch key {
            case "matchers":
                for (index, text) in r.strings(value, child).enumerated() {
                    do throws(MatcherError) {
                        matchers.append(try MatcherParser.parseMatcher(text))
                    } catch {
                        r.fail("\(child)[\(index)]", "\(error)", value)
                    }
                }
            case "duration":
                duration = r.duration(value, child, allowZero: false)
            case "comment":
                comment = r.string(value, child) ?? comment
            default:
                break
            }
        }
        if matchers.isEmpty { r.fail(YAMLReader.child(path, "matchers"), "at least one matcher is needed (e.g. 'alertname=\"disk_full\"')", node) }
        guard let duration else {
            if !fields.contains(where: { $0.0 == "duration" }) { r.fail(YAMLReader.child(path, "duration"), "missing: how long the silence lasts (1h)", node) }
            return nil
        }
        guard let time, !matchers.isEmpty else { return nil }
        return TimedInput(at: time, input: .silence(matchers: matchers, duration: duration, comment: comment), path: path)
    }

    static func readExpectation(_ node: Node, _ path: String, config: AlerterConfig, checkAgainstConfig: Bool,
                                _ r: inout YAMLReader) -> ExpectedNotification? {
        let fields = r.mapping(node, path, allowed: expectationKeys)
        let time = at(fields, path, node, &r)
        var expectation = ExpectedNotification(at: time ?? 0, receiver: "", firing: [], resolved: [], path: path, line: node.mark?.line)
        for (key, value) in fields {
            let child = YAMLReader.child(path, key)
            switch key {
            case "receiver":
                expectation.receiver = r.string(value, child) ?? ""
                if checkAgainstConfig, !expectation.receiver.isEmpty, config.engine.receivers[expectation.receiver] == nil {
                    r.fail(child, "no receiver \"\(expectation.receiver)\" in the config (have: \(config.engine.receivers.keys.sorted().joined(separator: ", ")))", value)
                }
            case "integration":
                expectation.integration = r.string(value, child)
            case "group":
                expectation.group = labels(value, child, &r)
            case "firing":
                expectation.firing = alerts(value, child, &r)
            case "resolved":
                expectation.resolved = alerts(value, child, &r)
            default:
                break
            }
        }
        if let integration = expectation.integration, let policy = config.engine.receivers[expectation.receiver] {
            let names = policy.integrations.map(\.name)
            if !names.contains(where: { ScenarioVerdict.integration($0, is: integration) }) {
                r.fail(YAMLReader.child(path, "integration"), "receiver \"\(expectation.receiver)\" has no integration \"\(integration)\" (has: \(names.isEmpty ? "none" : names.joined(separator: ", ")))", node)
            }
        }
        if expectation.receiver.isEmpty, !fields.contains(where: { $0.0 == "receiver" }) {
            r.fail(YAMLReader.child(path, "receiver"), "missing: the receiver the notification goes to", node)
        }
        if expectation.firing.isEmpty && expectation.resolved.isEmpty {
            r.fail(path, "expects neither firing nor resolved alerts (a notification carries at least one)", node)
        }
        return time == nil ? nil : expectation
    }

    // MARK: Values

    /// An expected alert: a mapping of labels, or a plain alertname.
    static func alerts(_ node: Node, _ path: String, _ r: inout YAMLReader) -> [[String: String]] {
        r.sequence(node, path).enumerated().compactMap { index, item in
            if case .scalar(let scalar) = item { return ["alertname": scalar.string] }
            let set = labels(item, "\(path)[\(index)]", &r)
            return set.isEmpty ? nil : set
        }
    }

    static func labels(_ node: Node, _ path: String, _ r: inout YAMLReader) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in r.mapping(node, path) {
            if let text = r.string(value, YAMLReader.child(path, name)) { result[name] = text }
        }
        return result
    }

    /// Whether the service's ingest checks (limits, label names) accept an event or sample; if not, the issue at `path.kind`.
    static func accepted(_ kind: String, _ path: String, _ body: Node, _ r: inout YAMLReader,
                         _ validate: () throws(EventRejection) -> Void) -> Bool {
        do throws(EventRejection) {
            try validate()
            return true
        } catch {
            r.fail(YAMLReader.child(path, kind), "the service would reject this \(kind): \(error.detail)", body)
            return false
        }
    }

    static func checkSubscribed(_ subject: String, _ subscribed: [String], _ path: String, _ node: Node, _ r: inout YAMLReader) {
        guard !subscribed.isEmpty, !subscribed.contains(where: { SubjectPattern($0).matches(subject) }) else { return }
        r.fail(path, "the config's nats.subjects (\(subscribed.joined(separator: ", "))) do not include \"\(subject)\"", node)
    }

    /// Decodes a YAML mapping with the service's own JSON decoder: every
    /// scalar goes over as a JSON string, which the decoder takes for
    /// strings, numbers and enum names alike.
    static func decode<Value>(_ node: Node, _ path: String, fields: Set<String>, _ r: inout YAMLReader,
                              _ decoder: (UnsafeRawBufferPointer) throws(EventRejection) -> Value) -> Value? {
        guard case .mapping = node else {
            r.fail(path, "expected a mapping of fields, found \(YAMLReader.kind(node))", node)
            return nil
        }
        let before = r.issues.count
        _ = r.mapping(node, path, allowed: fields)
        guard r.issues.count == before else { return nil }
        let data: Data
        do {
            data = try JSONSerialization.data(withJSONObject: jsonObject(node))
        } catch {
            r.fail(path, "cannot read: \(error)", node)
            return nil
        }
        let result = data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) -> Result<Value, EventRejection> in
            do throws(EventRejection) {
                return .success(try decoder(bytes))
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let value):
            return value
        case .failure(let rejection):
            r.fail(path, rejection.detail, node)
            return nil
        }
    }

    static func jsonObject(_ node: Node) -> Any {
        switch node {
        case .scalar(let scalar):
            return YAMLReader.isNull(node) ? NSNull() : scalar.string
        case .mapping(let mapping):
            var object: [String: Any] = [:]
            for (key, value) in mapping {
                if case .scalar(let name) = key { object[name.string] = jsonObject(value) }
            }
            return object
        case .sequence(let sequence):
            return sequence.map(jsonObject)
        case .alias:
            return NSNull()
        }
    }
}
