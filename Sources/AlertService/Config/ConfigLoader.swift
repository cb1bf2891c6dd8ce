public import AlertCore
import AlertIngest
import AlertNotify
import Foundation
import Yams

/// Reads and validates a config file. Every problem is reported with its
/// YAML path; nothing half-valid is ever returned.
public enum ConfigLoader {
    static let topLevelKeys: Set<String> = [
        "nats", "state", "ha", "server", "rules", "rule_files", "log",
        "global", "route", "receivers", "inhibit_rules", "time_intervals", "mute_time_intervals", "templates",
        // Alertmanager's, read and ignored with a note:
        "tracing",
    ]
    /// The largest `nats.pending_limits.messages` libnats 3.4 accepts (measured).
    static let maxPendingMessages = 2_000_000

    /// - Parameter requireNATS: false for the commands that only read the
    ///   routing (`check-config`, `routes`): a plain Alertmanager file, which
    ///   has no `nats` section, then loads with a note.
    public static func load(path: String, requireNATS: Bool = true) throws(ConfigError) -> AlerterConfig {
        let text = try YAMLReader.text(ofFile: path)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(yaml: text, file: path, baseDirectory: base, requireNATS: requireNATS)
    }

    /// Parses config text. Relative `*_file` paths resolve against `baseDirectory`.
    public static func parse(yaml: String, file: String = "<config>", baseDirectory: String = ".",
                             requireNATS: Bool = true) throws(ConfigError) -> AlerterConfig {
        let root = try YAMLReader.compose(yaml, file: file)
        var reader = YAMLReader()
        var config = AlerterConfig()
        config.sourceYAML = yaml
        let sections = reader.mapping(root, "", allowed: topLevelKeys)
        let section = { (name: String) in sections.first { $0.0 == name }?.1 }
        let context = ConfigContext(baseDirectory: baseDirectory)
        var defaults = GlobalNotifyDefaults()
        var locatedRules: [RuleConfigReader.Located] = []
        for (key, node) in sections {
            if let described = AlerterConfig.describedSections.first(where: { $0.name == key }) {
                described.section.read(node, key, into: &config, &reader, context)
                continue
            }
            switch key {
            case "global":
                RoutingConfigReader.readGlobal(node, &reader, into: &config.engine, defaults: &defaults, base: baseDirectory, notes: &config.notes)
            case "templates":
                let patterns = reader.strings(node, "templates")
                do {
                    var skipped: [String] = []
                    config.templates = try TemplateLibrary.load(patterns: patterns, baseDirectory: baseDirectory, skipped: &skipped)
                    config.notes += skipped.map { "templates: \($0) is an Alertmanager Go template file; ignored (nats-alerter templates are *.mustache)" }
                    // A Go template pattern that matches nothing here (an Alertmanager file's /etc/alertmanager/… path) is named too.
                    for pattern in patterns where pattern.hasSuffix(".tmpl") {
                        let absolute = pattern.hasPrefix("/") ? pattern : baseDirectory + "/" + pattern
                        let directory = URL(fileURLWithPath: absolute).deletingLastPathComponent().path
                        if !skipped.contains(where: { $0.hasPrefix(directory + "/") }) {
                            config.notes.append("templates: \(pattern) names Alertmanager Go templates; ignored (nats-alerter templates are *.mustache)")
                        }
                    }
                } catch {
                    reader.fail("templates", "\(error)", node)
                }
            case "rules":
                locatedRules += RuleConfigReader.readRules(node, prefix: "", &reader)
            case "rule_files":
                locatedRules += RuleConfigReader.readRuleFiles(node, baseDirectory: baseDirectory, &reader)
            case "route", "receivers", "inhibit_rules", "time_intervals", "mute_time_intervals":
                break  // read below, in dependency order
            default:
                config.acceptedButUnused.append(key)
                config.notes.append("\(key): Alertmanager section without effect in nats-alerter; ignored")
            }
        }
        if section("nats") == nil {
            if requireNATS {
                reader.fail("nats", "missing: the service needs nats.subjects to subscribe to")
            } else {
                config.notes.append("nats: missing (a plain Alertmanager file); `run` needs a nats section with nats.subjects to subscribe to")
            }
        }
        let routeNode = section("route")
        let receiversNode = section("receivers")
        if (routeNode == nil) != (receiversNode == nil) {
            reader.fail(routeNode == nil ? "route" : "receivers", "route and receivers go together (a route names receivers)")
        }
        if let receiversNode {
            let receivers = RoutingConfigReader.readReceivers(receiversNode, &reader, defaults: defaults, base: baseDirectory, notes: &config.notes)
            config.receivers = Dictionary(receivers.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
            config.engine.receivers = Dictionary(receivers.map { ($0.name, ReceiverPolicy(name: $0.name, sendResolved: $0.sendsResolved, integrations: $0.integrationPolicies)) }, uniquingKeysWith: { $1 })
        }
        if let deadline = defaults.notificationDeadline { config.retryPolicy.deadline = deadline }
        config.externalURL = defaults.externalURL ?? ""
        if let routeNode {
            config.engine.route = RoutingConfigReader.readRoute(routeNode, "route", &reader, isRoot: true)
        }
        if let node = section("inhibit_rules") {
            config.engine.inhibitRules = RoutingConfigReader.readInhibitRules(node, &reader)
        }
        var intervals: [NamedTimeInterval] = []
        for name in ["time_intervals", "mute_time_intervals"] {
            if let node = section(name) { intervals += RoutingConfigReader.readTimeIntervals(node, name, &reader) }
        }
        var intervalNames = Set<String>()
        for interval in intervals where !intervalNames.insert(interval.name).inserted {
            reader.fail("time_intervals", "time interval \"\(interval.name)\" is defined twice")
        }
        config.engine.timeIntervals = Dictionary(intervals.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        RoutingConfigReader.validateReferences(config.engine, routeNode: routeNode, &reader)
        RuleConfigReader.validate(locatedRules, eventSubjects: config.nats.subjects, &reader)
        config.rules = locatedRules.map(\.rule)
        // Rules resolve their own alerts; the resolve timeout would end an
        // absence alert (which gets no samples while it lasts) after 5 minutes.
        for rule in config.rules where config.engine.resolveTimeoutByAlertType[rule.name] == nil {
            config.engine.resolveTimeoutByAlertType[rule.name] = AlerterConfig.ruleAlertResolveTimeout
        }
        guard reader.issues.isEmpty else { throw ConfigError(file: file, issues: reader.issues) }
        return config
    }

    // MARK: helpers

    /// nil when `url` is a usable NATS server URL; otherwise what is wrong.
    public static func validateServerURL(_ url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              ["nats", "tls"].contains(scheme) else {
            return "\"\(url)\" is not a nats:// or tls:// URL"
        }
        guard let host = components.host, !host.isEmpty else { return "\"\(url)\" has no host" }
        if let port = components.port, !(1...65535).contains(port) { return "\"\(url)\" has an invalid port" }
        if !components.path.isEmpty && components.path != "/" { return "\"\(url)\" must not have a path" }
        return nil
    }

    /// nil when `subject` is a valid NATS subject (with wildcards if allowed).
    public static func validateSubject(_ subject: String, wildcards: Bool) -> String? {
        if subject.isEmpty { return "a subject cannot be empty" }
        if subject.contains(where: { $0.isWhitespace }) { return "\"\(subject)\" contains white space" }
        let tokens = subject.split(separator: ".", omittingEmptySubsequences: false)
        for (index, token) in tokens.enumerated() {
            if token.isEmpty { return "\"\(subject)\" has an empty token (two dots, or a leading/trailing dot)" }
            if token == ">" {
                if !wildcards { return "\"\(subject)\": wildcards are not allowed here" }
                if index != tokens.count - 1 { return "\"\(subject)\": \">\" must be the last token" }
            } else if token == "*" {
                if !wildcards { return "\"\(subject)\": wildcards are not allowed here" }
            } else if token.contains("*") || token.contains(">") {
                return "\"\(subject)\": wildcards must be a whole token (\"a.*.c\", \"a.>\")"
            }
        }
        return nil
    }

    static func resolve(_ file: String, base: String) -> String {
        file.hasPrefix("/") ? file : URL(fileURLWithPath: base).appendingPathComponent(file).path
    }

    static func readSecretFile(_ file: String, path: String, base: String, _ r: inout YAMLReader) -> String? {
        let resolved = resolve(file, base: base)
        guard let contents = try? String(contentsOfFile: resolved, encoding: .utf8) else {
            r.fail(path, "cannot read \(resolved)")
            return nil
        }
        return contents.trimmingCharacters(in: .newlines)
    }
}
