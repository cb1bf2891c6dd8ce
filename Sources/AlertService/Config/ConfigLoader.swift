public import AlertCore
import AlertIngest
import AlertNotify
import Foundation
import Logging
import Yams

/// Reads and validates a config file. Every problem is reported with its
/// YAML path; nothing half-valid is ever returned.
public enum ConfigLoader {
    static let topLevelKeys: Set<String> = [
        "nats", "state", "server", "rules", "rule_files", "log",
        "global", "route", "receivers", "inhibit_rules", "time_intervals", "mute_time_intervals", "templates",
        // Alertmanager's, read and ignored with a note:
        "tracing",
    ]
    static let natsKeys: Set<String> = [
        "servers", "name", "user", "password", "password_file", "token", "token_file",
        "credentials_file", "nkey", "nkey_seed_file", "tls", "connect_timeout", "reconnect",
        "subjects", "queue_group", "pending_limits", "limits", "jetstream",
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
        var sawNATS = false
        let sections = reader.mapping(root, "", allowed: topLevelKeys)
        let section = { (name: String) in sections.first { $0.0 == name }?.1 }
        var engine = AlerterConfig.defaultEngine
        var defaults = GlobalNotifyDefaults()
        var locatedRules: [RuleConfigReader.Located] = []
        for (key, node) in sections {
            switch key {
            case "nats":
                sawNATS = true
                config.nats = readNATS(node, &reader, baseDirectory: baseDirectory)
            case "state":
                config.state = readState(node, &reader, engine: &engine)
            case "log":
                config.log = readLog(node, &reader)
            case "global":
                RoutingConfigReader.readGlobal(node, &reader, into: &engine, defaults: &defaults, base: baseDirectory, notes: &config.notes)
            case "server":
                config.server = readServer(node, &reader, baseDirectory: baseDirectory)
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
        if !sawNATS {
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
            engine.receivers = Dictionary(receivers.map { ($0.name, ReceiverPolicy(name: $0.name, sendResolved: $0.sendsResolved, integrations: $0.integrationPolicies)) }, uniquingKeysWith: { $1 })
        }
        if let deadline = defaults.notificationDeadline { config.retryPolicy.deadline = deadline }
        config.externalURL = defaults.externalURL ?? ""
        if let routeNode {
            engine.route = RoutingConfigReader.readRoute(routeNode, "route", &reader, isRoot: true)
        }
        if let node = section("inhibit_rules") {
            engine.inhibitRules = RoutingConfigReader.readInhibitRules(node, &reader)
        }
        var intervals: [NamedTimeInterval] = []
        for name in ["time_intervals", "mute_time_intervals"] {
            if let node = section(name) { intervals += RoutingConfigReader.readTimeIntervals(node, name, &reader) }
        }
        var intervalNames = Set<String>()
        for interval in intervals where !intervalNames.insert(interval.name).inserted {
            reader.fail("time_intervals", "time interval \"\(interval.name)\" is defined twice")
        }
        engine.timeIntervals = Dictionary(intervals.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        RoutingConfigReader.validateReferences(engine, routeNode: routeNode, &reader)
        RuleConfigReader.validate(locatedRules, eventSubjects: config.nats.subjects, &reader)
        config.rules = locatedRules.map(\.rule)
        // Rules resolve their own alerts; the resolve timeout would end an
        // absence alert (which gets no samples while it lasts) after 5 minutes.
        for rule in config.rules where engine.resolveTimeoutByAlertType[rule.name] == nil {
            engine.resolveTimeoutByAlertType[rule.name] = AlerterConfig.ruleAlertResolveTimeout
        }
        config.engine = engine
        guard reader.issues.isEmpty else { throw ConfigError(file: file, issues: reader.issues) }
        return config
    }

    // MARK: nats

    static func readNATS(_ node: Node, _ r: inout YAMLReader, baseDirectory: String) -> AlerterConfig.NATSSection {
        var section = AlerterConfig.NATSSection()
        var connection = NATSConnectionConfiguration()
        var fields: [String: (Node, String)] = [:]
        for (key, value) in r.mapping(node, "nats", allowed: natsKeys) {
            fields[key] = (value, "nats.\(key)")
        }
        if let (value, path) = fields["servers"] {
            let servers = r.strings(value, path)
            for (index, server) in servers.enumerated() {
                if let problem = validateServerURL(server) { r.fail("\(path)[\(index)]", problem, value) }
            }
            if servers.isEmpty { r.fail(path, "at least one server URL is needed") }
            connection.servers = servers
        }
        if let (value, path) = fields["name"], let name = r.string(value, path) { connection.name = name }

        // Authentication: at most one method.
        func secret(_ key: String) -> String? {
            let inline = fields[key].flatMap { r.string($0.0, $0.1) }
            let fromFile = fields["\(key)_file"].flatMap { value, path in
                r.string(value, path).flatMap { readSecretFile($0, path: path, base: baseDirectory, &r) }
            }
            if inline != nil, fields["\(key)_file"] != nil {
                r.fail("nats.\(key)", "set either \(key) or \(key)_file, not both")
            }
            return inline ?? fromFile
        }
        let user = fields["user"].flatMap { r.string($0.0, $0.1) }
        let password = secret("password")
        let token = secret("token")
        let credentials = fields["credentials_file"].flatMap { value, path in
            r.string(value, path).map { resolve($0, base: baseDirectory) }
        }
        let nkey = fields["nkey"].flatMap { r.string($0.0, $0.1) }
        let nkeySeed = fields["nkey_seed_file"].flatMap { value, path in
            r.string(value, path).map { resolve($0, base: baseDirectory) }
        }
        var methods: [String] = []
        if user != nil || password != nil { methods.append("user/password") }
        if token != nil { methods.append("token") }
        if credentials != nil { methods.append("credentials_file") }
        if nkey != nil || nkeySeed != nil { methods.append("nkey") }
        if methods.count > 1 {
            r.fail("nats", "choose one authentication method, found \(methods.joined(separator: " and "))")
        }
        if let user, let password {
            connection.authentication = .userPassword(user: user, password: password)
        } else if user != nil || password != nil {
            r.fail(user == nil ? "nats.user" : "nats.password", "user and password go together")
        } else if let token {
            connection.authentication = .token(token)
        } else if let credentials {
            if !FileManager.default.isReadableFile(atPath: credentials) {
                r.fail("nats.credentials_file", "cannot read \(credentials)")
            }
            connection.authentication = .credentialsFile(credentials)
        } else if let nkey, let nkeySeed {
            if !FileManager.default.isReadableFile(atPath: nkeySeed) {
                r.fail("nats.nkey_seed_file", "cannot read \(nkeySeed)")
            }
            connection.authentication = .nkey(publicKey: nkey, seedFile: nkeySeed)
        } else if nkey != nil || nkeySeed != nil {
            r.fail(nkey == nil ? "nats.nkey" : "nats.nkey_seed_file", "nkey (the public key) and nkey_seed_file go together")
        }

        if let (value, path) = fields["tls"] {
            connection.tls = readTLS(value, path, &r, baseDirectory: baseDirectory)
        }
        if let (value, path) = fields["connect_timeout"], let timeout = r.duration(value, path, allowZero: false) {
            connection.connectTimeout = timeout
        }
        if let (value, path) = fields["reconnect"] {
            for (key, item) in r.mapping(value, path, allowed: ["max_attempts", "wait"]) {
                switch key {
                case "max_attempts":
                    if let attempts = r.int(item, "\(path).max_attempts", min: -1) { connection.maxReconnectAttempts = attempts }
                default:
                    if let wait = r.duration(item, "\(path).wait", allowZero: false) { connection.reconnectWait = wait }
                }
            }
        }
        if let (value, path) = fields["pending_limits"] {
            for (key, item) in r.mapping(value, path, allowed: ["messages", "bytes"]) {
                guard let limit = r.int(item, "\(path).\(key)", min: 1) else { continue }
                // libnats 3.4 refuses to subscribe ("Invalid Argument") with
                // more than about two million pending messages.
                if key == "messages" && limit > Self.maxPendingMessages {
                    r.fail("\(path).\(key)", "at most \(Self.maxPendingMessages) (libnats refuses larger subscription buffers)", item)
                    continue
                }
                if key == "messages" { connection.pendingMessagesLimit = limit } else { connection.pendingBytesLimit = limit }
            }
        }
        if let (value, path) = fields["subjects"] {
            let subjects = r.strings(value, path)
            for (index, subject) in subjects.enumerated() {
                if let problem = validateSubject(subject, wildcards: true) { r.fail("\(path)[\(index)]", problem, value) }
            }
            section.subjects = subjects
        }
        if section.subjects.isEmpty {
            r.fail("nats.subjects", "at least one subject to subscribe to is needed (e.g. \"system.error.>\")")
        }
        if let (value, path) = fields["queue_group"], let group = r.string(value, path) {
            if group.isEmpty || group.contains(where: { $0.isWhitespace }) {
                r.fail(path, "a queue group name must be non-empty and have no spaces")
            } else {
                section.queueGroup = group
            }
        }
        if let (value, path) = fields["limits"] {
            section.limits = readLimits(value, path, &r)
        }
        if let (value, path) = fields["jetstream"] {
            section.jetstream = readJetStream(value, path, &r, subscribed: section.subjects)
            if section.queueGroup != nil {
                r.fail("nats.queue_group", "not used with nats.jetstream: replicas share the durable consumer instead")
            }
        }
        section.connection = connection
        return section
    }

    static func readJetStream(_ node: Node, _ path: String, _ r: inout YAMLReader, subscribed: [String]) -> AlerterConfig.JetStreamSection {
        var section = AlerterConfig.JetStreamSection()
        let keys: Set<String> = ["stream", "subjects", "create", "durable", "ack_wait", "max_deliver", "max_ack_pending",
                                 "duplicate_window", "max_age", "replicas", "dead_letter_subject"]
        for (key, value) in r.mapping(node, path, allowed: keys) {
            let p = "\(path).\(key)"
            switch key {
            case "stream":
                if let name = r.string(value, p) {
                    if name.isEmpty || name.contains(where: { " .*>\t".contains($0) }) { r.fail(p, "a stream name cannot be empty or contain spaces, '.', '*' or '>'", value) }
                    section.stream.name = name
                }
            case "subjects":
                section.stream.subjects = r.strings(value, p)
                for (index, subject) in section.stream.subjects.enumerated() {
                    if let problem = validateSubject(subject, wildcards: true) { r.fail("\(p)[\(index)]", problem, value) }
                }
            case "create": section.stream.create = r.bool(value, p) ?? true
            case "durable":
                if let name = r.string(value, p) {
                    if name.isEmpty || name.contains(where: { " .*>\t".contains($0) }) { r.fail(p, "a consumer name cannot be empty or contain spaces, '.', '*' or '>'", value) }
                    section.consumer.durable = name
                }
            case "ack_wait": if let d = r.duration(value, p, allowZero: false) { section.consumer.ackWait = d }
            case "max_deliver": if let n = r.int(value, p, min: 1) { section.consumer.maxDeliver = n }
            case "max_ack_pending": if let n = r.int(value, p, min: 1) { section.consumer.maxAckPending = n }
            case "duplicate_window": if let d = r.duration(value, p) { section.stream.duplicateWindow = d }
            case "max_age": if let d = r.duration(value, p) { section.stream.maxAge = d }
            case "replicas": if let n = r.int(value, p, min: 1) { section.stream.replicas = n }
            case "dead_letter_subject":
                guard let subject = r.string(value, p) else { continue }
                if let problem = validateSubject(subject, wildcards: false) {
                    r.fail(p, problem, value)
                } else if (section.stream.subjects.isEmpty ? subscribed : section.stream.subjects).contains(where: { SubjectPattern($0).matches(subject) }) {
                    r.fail(p, "\"\(subject)\" is captured by the events stream: dead letters would be read again", value)
                } else {
                    section.deadLetterSubject = subject
                }
            default: break
            }
        }
        return section
    }

    /// `tls` of NATS and `tls_config` of receivers.
    static func readTLS(_ node: Node, _ path: String, _ r: inout YAMLReader, baseDirectory: String) -> TLSSettings {
        var tls = TLSSettings()
        for (key, value) in r.mapping(node, path, allowed: ["ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"]) {
            let itemPath = "\(path).\(key)"
            switch key {
            case "insecure_skip_verify":
                tls.insecureSkipVerify = r.bool(value, itemPath) ?? false
            case "server_name":
                tls.serverName = r.string(value, itemPath)
            default:
                guard let file = r.string(value, itemPath).map({ resolve($0, base: baseDirectory) }) else { continue }
                if !FileManager.default.isReadableFile(atPath: file) { r.fail(itemPath, "cannot read \(file)", value) }
                switch key {
                case "ca_file": tls.caFile = file
                case "cert_file": tls.certFile = file
                default: tls.keyFile = file
                }
            }
        }
        if (tls.certFile == nil) != (tls.keyFile == nil) {
            r.fail(path, "cert_file and key_file go together")
        }
        return tls
    }

    static func readLimits(_ node: Node, _ path: String, _ r: inout YAMLReader) -> EventLimits {
        var limits = EventLimits()
        let keys: [String: WritableKeyPath<EventLimits, Int>] = [
            "max_payload_bytes": \.maxPayloadBytes,
            "max_labels": \.maxLabels,
            "max_label_name_bytes": \.maxLabelNameBytes,
            "max_label_value_bytes": \.maxLabelValueBytes,
            "max_annotations": \.maxAnnotations,
            "max_annotation_value_bytes": \.maxAnnotationValueBytes,
        ]
        for (key, value) in r.mapping(node, path, allowed: Set(keys.keys).union(["max_clock_skew"])) {
            if key == "max_clock_skew" {
                if let skew = r.duration(value, "\(path).\(key)") { limits.maxClockSkew = skew }
            } else if let number = r.int(value, "\(path).\(key)", min: 1), let keyPath = keys[key] {
                limits[keyPath: keyPath] = number
            }
        }
        return limits
    }

    // MARK: state, log

    static func readState(_ node: Node, _ r: inout YAMLReader, engine: inout EngineConfiguration) -> AlerterConfig.StateSection {
        var state = AlerterConfig.StateSection()
        let keys: Set<String> = ["backend", "max_active_alerts", "resolve_timeout_by_alert_type", "resolved_retention", "jetstream"]
        for (key, value) in r.mapping(node, "state", allowed: keys) {
            switch key {
            case "resolve_timeout_by_alert_type":
                for (alertType, item) in r.mapping(value, "state.resolve_timeout_by_alert_type") {
                    if let timeout = r.duration(item, "state.resolve_timeout_by_alert_type.\(alertType)", allowZero: false) {
                        engine.resolveTimeoutByAlertType[alertType] = timeout
                    }
                }
            case "resolved_retention":
                if let retention = r.duration(value, "state.resolved_retention") { engine.resolvedRetention = retention }
            case "backend":
                guard let text = r.string(value, "state.backend") else { continue }
                if let backend = AlerterConfig.StateSection.Backend(rawValue: text) {
                    state.backend = backend
                } else {
                    r.fail("state.backend", "unknown backend \"\(text)\" (allowed: memory, jetstream)", value)
                }
            case "jetstream":
                for (field, item) in r.mapping(value, "state.jetstream", allowed: ["bucket_prefix", "history", "replicas", "storage", "outbox"]) {
                    let p = "state.jetstream.\(field)"
                    switch field {
                    case "outbox": state.outbox = readOutbox(item, &r)
                    case "bucket_prefix":
                        if let prefix = r.string(item, p) {
                            if prefix.isEmpty || !prefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
                                r.fail(p, "use letters, digits, '_' and '-' only", item)
                            } else {
                                state.jetstream.bucketPrefix = prefix
                            }
                        }
                    case "history": if let n = r.int(item, p, min: 1) { state.jetstream.bucket.history = min(n, 64) }
                    case "replicas": if let n = r.int(item, p, min: 1) { state.jetstream.bucket.replicas = n }
                    default:
                        switch r.string(item, p) {
                        case "file": state.jetstream.bucket.memoryStorage = false
                        case "memory": state.jetstream.bucket.memoryStorage = true
                        default: r.fail(p, "storage is file or memory", item)
                        }
                    }
                }
            case "max_active_alerts":
                if let cap = r.int(value, "state.max_active_alerts", min: 1) { state.maxActiveAlerts = cap }
            default:
                break
            }
        }
        return state
    }

    static func readOutbox(_ node: Node, _ r: inout YAMLReader) -> AlerterConfig.OutboxSection {
        var outbox = AlerterConfig.OutboxSection()
        let keys: Set<String> = ["enabled", "ack_wait", "max_deliver", "duplicate_window", "sent_log_ttl"]
        for (key, value) in r.mapping(node, "state.jetstream.outbox", allowed: keys) {
            let path = "state.jetstream.outbox.\(key)"
            switch key {
            case "enabled": if let flag = r.bool(value, path) { outbox.enabled = flag }
            case "ack_wait":
                if let wait = r.duration(value, path, allowZero: false) {
                    if wait < .seconds(3) { r.fail(path, "must be at least 3s (in-progress signals go out every third of it)", value) } else { outbox.ackWait = wait }
                }
            case "max_deliver": if let n = r.int(value, path, min: 1) { outbox.maxDeliver = n }
            case "duplicate_window": if let window = r.duration(value, path, allowZero: false) { outbox.duplicateWindow = window }
            default: if let ttl = r.duration(value, path, allowZero: false) { outbox.sentLogTTL = ttl }
            }
        }
        return outbox
    }

    static func readServer(_ node: Node, _ r: inout YAMLReader, baseDirectory: String) -> AlerterConfig.ServerSection {
        var server = AlerterConfig.ServerSection()
        let keys: Set<String> = ["listen_address", "api_token_file", "max_request_body_bytes", "allowed_origins", "allowed_hosts",
                                 "limits", "tls_server_config"]
        for (key, value) in r.mapping(node, "server", allowed: keys) {
            let path = "server.\(key)"
            switch key {
            case "listen_address":
                guard let text = r.string(value, path) else { continue }
                let parts = text.split(separator: ":", omittingEmptySubsequences: false)
                if parts.count < 2 || Int(parts.last!).map({ !(0...65535).contains($0) }) ?? true {
                    r.fail(path, "\"\(text)\" is not host:port (e.g. 127.0.0.1:9094, 0.0.0.0:9094)", value)
                } else {
                    server.listenAddress = text
                }
            case "api_token_file":
                guard let file = r.string(value, path).map({ resolve($0, base: baseDirectory) }) else { continue }
                if readSecretFile(file, path: path, base: baseDirectory, &r) == "" { r.fail(path, "the token file is empty", value) }
                server.apiTokenFile = file
            case "allowed_origins":
                for (index, origin) in r.strings(value, path).enumerated() {
                    if let problem = MutationRules.originProblem(origin) {
                        r.fail("\(path)[\(index)]", problem, value)
                    } else {
                        server.allowedOrigins.append(MutationRules.normalizedOrigin(origin))
                    }
                }
            case "allowed_hosts":
                for (index, host) in r.strings(value, path).enumerated() {
                    if host.isEmpty || host.contains(where: { $0.isWhitespace || $0 == "/" }) {
                        r.fail("\(path)[\(index)]", "\"\(host)\" is not a host name with an optional :port", value)
                    } else {
                        server.allowedHosts.append(host.lowercased())
                    }
                }
            case "limits":
                let limitKeys: [String: WritableKeyPath<AlerterConfig.APILimits, Int>] = [
                    "max_silences": \.maxSilences,
                    "max_silence_size_bytes": \.maxSilenceSizeBytes,
                    "max_matchers_per_silence": \.maxMatchersPerSilence,
                    "max_comment_bytes": \.maxCommentBytes,
                ]
                for (limit, item) in r.mapping(value, path, allowed: Set(limitKeys.keys)) {
                    if let number = r.int(item, "\(path).\(limit)", min: 0), let keyPath = limitKeys[limit] {
                        server.limits[keyPath: keyPath] = number
                    }
                }
            case "tls_server_config":
                var certFile: String?, keyFile: String?
                for (field, item) in r.mapping(value, path, allowed: ["cert_file", "key_file"]) {
                    guard let file = r.string(item, "\(path).\(field)").map({ resolve($0, base: baseDirectory) }) else { continue }
                    if !FileManager.default.isReadableFile(atPath: file) { r.fail("\(path).\(field)", "cannot read \(file)", item) }
                    if field == "cert_file" { certFile = file } else { keyFile = file }
                }
                if let certFile, let keyFile {
                    server.tls = .init(certFile: certFile, keyFile: keyFile)
                    if let problem = ListenerTLS.problem(with: server.tls!) { r.fail(path, problem, value) }
                } else {
                    r.fail(path, "cert_file and key_file are both required", value)
                }
            default:
                if let limit = r.int(value, path, min: 1024) { server.maxRequestBodyBytes = limit }
            }
        }
        return server
    }

    static func readLog(_ node: Node, _ r: inout YAMLReader) -> AlerterConfig.LogSection {
        var log = AlerterConfig.LogSection()
        for (key, value) in r.mapping(node, "log", allowed: ["level", "format"]) {
            guard let text = r.string(value, "log.\(key)") else { continue }
            if key == "level" {
                if let level = Logger.Level(rawValue: text.lowercased()) { log.level = level } else {
                    r.fail("log.level", "unknown level \"\(text)\" (allowed: \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")))", value)
                }
            } else {
                if let format = AlerterConfig.LogSection.Format(rawValue: text) { log.format = format } else {
                    r.fail("log.format", "unknown format \"\(text)\" (allowed: json, text)", value)
                }
            }
        }
        return log
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
