import AlertCore
import AlertIngest
import AlertNotify
import AlertService
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle

@main
struct NatsAlerter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nats-alerter",
        abstract: "Turns critical events published on NATS into deduplicated, well-behaved alerts.",
        subcommands: [Run.self, CheckConfig.self, Send.self, SendSample.self, Routes.self, Template.self, TestScenarios.self, BenchRules.self],
        defaultSubcommand: Run.self
    )
}

struct ConfigOption: ParsableArguments {
    @Option(name: .shortAndLong, help: "Path of the YAML configuration file.")
    var config: String = "config/alerter.yaml"
}

extension NatsAlerter {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run the service in the foreground (SIGTERM/SIGINT stop it gracefully).")

        @OptionGroup var options: ConfigOption

        @Option(help: "Log level (trace, debug, info, notice, warning, error, critical); overrides log.level.")
        var logLevel: String?

        @Option(help: "Log line format (json, text); overrides log.format.")
        var logFormat: String?

        func run() async throws {
            let config: AlerterConfig
            do {
                config = try ConfigLoader.load(path: options.config)
            } catch {
                FileHandle.standardError.write(Data("nats-alerter: invalid configuration\n\(error)\n".utf8))
                throw ExitCode(2)
            }
            var level = config.log.level
            if let logLevel {
                guard let parsed = Logger.Level(rawValue: logLevel.lowercased()) else {
                    throw ValidationError("--log-level: unknown level \"\(logLevel)\"")
                }
                level = parsed
            }
            var format = config.log.format
            if let logFormat {
                guard let parsed = AlerterConfig.LogSection.Format(rawValue: logFormat) else {
                    throw ValidationError("--log-format: unknown format \"\(logFormat)\" (json, text)")
                }
                format = parsed
            }
            LoggingBootstrap.bootstrap(format: format, level: level)
            let logger = Logger(label: "nats-alerter")
            logger.info("starting", metadata: ["config": .string(options.config), "pid": .stringConvertible(Int(getpid()))])
            if !config.acceptedButUnused.isEmpty {
                logger.notice("configuration sections read but not used by this version", metadata: [
                    "sections": .array(config.acceptedButUnused.map { .string($0) }),
                ])
            }
            let alerter: Alerter
            do {
                alerter = try await Alerter.start(config: config, configPath: options.config, logger: logger)
            } catch let error as ListenerTLSError {
                logger.critical("cannot start the HTTP listener", metadata: ["error": .string("\(error)")])
                throw ExitCode(2)
            } catch {
                logger.critical("nats-alerter stopped on an error", metadata: ["error": .string("\(error)")])
                throw ExitCode(1)
            }
            let services: [ServiceGroupConfiguration.ServiceConfiguration]
            do {
                services = try AlerterApplication.services(alerter: alerter).group
            } catch {
                logger.critical("cannot start the HTTP listener", metadata: ["error": .string("\(error)")])
                throw ExitCode(2)
            }
            logger.info("HTTP API and /metrics", metadata: [
                "listen_address": .string(config.server.listenAddress), "tls": .stringConvertible(config.server.tls != nil),
            ])
            let group = ServiceGroup(configuration: .init(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
            do {
                try await group.run()
            } catch {
                var metadata: Logger.Metadata = ["error": .string("\(error)")]
                if "\(error)".contains("Address already in use") {
                    metadata["hint"] = .string("server.listen_address \(config.server.listenAddress) is already taken; choose another port")
                }
                logger.critical("nats-alerter stopped on an error", metadata: metadata)
                throw ExitCode(1)
            }
        }
    }

    struct CheckConfig: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check-config",
            abstract: "Validate a configuration file; list every error by YAML path and exit non-zero if any."
        )

        @OptionGroup var options: ConfigOption

        func run() async throws {
            let config: AlerterConfig
            do {
                // A plain Alertmanager file loads too; its missing nats section is a note.
                config = try ConfigLoader.load(path: options.config, requireNATS: false)
            } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(1)
            }
            var lines = ["\(options.config): valid"]
            if !config.nats.subjects.isEmpty {
                lines.append("  nats servers: \(config.nats.connection.servers.joined(separator: ", "))")
                lines.append("  subjects: \(config.nats.subjects.joined(separator: ", "))" + (config.nats.queueGroup.map { " (queue group \($0))" } ?? ""))
            }
            lines.append("  state backend: \(config.state.backend.rawValue) (max active alerts \(config.state.maxActiveAlerts))")
            lines.append("  receivers: \(config.engine.receivers.keys.sorted().joined(separator: ", "))")
            lines.append("  inhibit rules: \(config.engine.inhibitRules.count), time intervals: \(config.engine.timeIntervals.isEmpty ? "none" : config.engine.timeIntervals.keys.sorted().joined(separator: ", "))")
            if config.rules.isEmpty {
                lines.append("  rules: none")
            } else {
                lines.append("  rules: \(config.rules.count)")
                for rule in config.rules {
                    lines.append("    \(rule.name) (\(rule.kind.name), \(rule.severity.labelValue ?? "")) on \(rule.subjects.map(\.description).joined(separator: ", ")): \(rule.conditionDescription)")
                }
            }
            if !config.acceptedButUnused.isEmpty {
                lines.append("  read but not used by this version: \(config.acceptedButUnused.joined(separator: ", "))")
            }
            for note in config.notes {
                lines.append("  note: \(note)")
            }
            lines.append("routing tree:")
            lines.append(Route(root: config.engine.route).treeDescription.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            print(lines.joined(separator: "\n"))
        }
    }

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish one AlertEvent (protobuf by default), to try the service without writing a publisher."
        )

        @Option(help: "NATS subject to publish on.")
        var subject: String = "system.error.critical"

        @Option(help: "The alert type (label alertname).")
        var alertname: String = ""

        @Option(help: "info, warning, error or critical.")
        var severity: String = "critical"

        @Option(help: "Emitting service or instance (label source).")
        var source: String = ""

        @Option(help: "One-line summary.")
        var summary: String = ""

        @Option(help: "Longer description.")
        var description: String = ""

        @Option(name: .customLong("label"), help: "A label as name=value; repeatable.")
        var labels: [String] = []

        @Option(name: .customLong("annotation"), help: "An annotation as name=value; repeatable.")
        var annotations: [String] = []

        @Option(help: "Measured value.")
        var value: Double?

        @Option(help: "Threshold the value crossed.")
        var threshold: Double?

        @Option(help: "Training/simulation iteration.")
        var iteration: Int64?

        @Option(help: "Explicit identity instead of the label set.")
        var dedupKey: String = ""

        @Option(help: "Event id (also sent as Nats-Msg-Id); a UUID when omitted.")
        var eventId: String?

        @Option(help: "Link back to the source.")
        var generatorUrl: String = ""

        @Flag(help: "Send a RESOLVED event.")
        var resolved = false

        @Flag(help: "Send the JSON form with Content-Type: application/json.")
        var json = false

        @Option(help: "NATS server URL.")
        var server: String = "nats://127.0.0.1:4222"

        @Option(help: "Publish this many copies (each with its own event id).")
        var count: Int = 1

        func validate() throws {
            if let problem = ConfigLoader.validateServerURL(server) { throw ValidationError("--server: \(problem)") }
            if let problem = ConfigLoader.validateSubject(subject, wildcards: false) { throw ValidationError("--subject: \(problem)") }
            guard Severity(name: severity) != nil else { throw ValidationError("--severity: unknown severity \"\(severity)\" (info, warning, error, critical)") }
            for pair in labels + annotations where !pair.contains("=") {
                throw ValidationError("\"\(pair)\" is not name=value")
            }
            guard count >= 1 && count <= 10_000_000 else { throw ValidationError("--count must be between 1 and 10000000") }
        }

        func run() async throws {
            var event = AlertEvent(
                alertType: alertname,
                severity: Severity(name: severity) ?? .critical,
                status: resolved ? .resolved : .firing,
                source: source, summary: summary, description: description,
                labels: Self.pairs(labels), annotations: Self.pairs(annotations),
                occurredAtUnixMs: Int64(Date().timeIntervalSince1970 * 1000),
                currentValue: value, thresholdValue: threshold, iteration: iteration,
                dedupKey: dedupKey, eventID: eventId ?? UUID().uuidString.lowercased(),
                generatorURL: generatorUrl,
                subject: subject
            )
            if let problem = Self.validationProblem(event) {
                throw ValidationError(problem)
            }
            LoggingBootstrap.bootstrap(format: .text, level: .warning)
            let logger = Logger(label: "nats-alerter.send")
            var configuration = NATSConnectionConfiguration(servers: [server], name: "nats-alerter-send")
            configuration.retryOnFailedConnect = false
            configuration.maxReconnectAttempts = 0
            let settings = configuration
            let connection = try await runBlocking { () throws(NATSError) in
                try NATSConnection(configuration: settings, logger: logger)
            }
            let subject = self.subject
            let json = self.json
            let count = self.count
            let explicitID = eventId
            var size = 0
            for index in 0..<count {
                if index > 0 && explicitID == nil { event.eventID = UUID().uuidString.lowercased() }
                let payload = json ? JSONEventEncoder.encode(event) : ProtobufEventEncoder.encode(event)
                size = payload.count
                var headers = [("Nats-Msg-Id", event.eventID)]
                if json { headers.append(("Content-Type", "application/json")) }
                try connection.publish(subject: subject, payload: payload, headers: headers)
            }
            try await runBlocking { () throws(NATSError) in try connection.flush(timeout: .seconds(5)) }
            connection.close()
            print("published \(count) \(resolved ? "RESOLVED" : "FIRING") event\(count == 1 ? "" : "s") on \(subject) (\(size) bytes, \(json ? "JSON" : "protobuf")), fingerprint \(event.fingerprint)")
        }

        static func pairs(_ items: [String]) -> [String: String] {
            var result: [String: String] = [:]
            for item in items {
                let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                result[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            return result
        }

        static func validationProblem(_ event: AlertEvent) -> String? {
            do throws(EventRejection) {
                try event.validate(.default)
                return nil
            } catch {
                return "the service would reject this event: \(error.detail)"
            }
        }
    }

    struct Routes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Inspect the routing tree.",
            subcommands: [Test.self, Show.self]
        )

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Print the routing tree with every inherited option resolved.")
            @OptionGroup var options: ConfigOption

            func run() async throws {
                let config = try loadOrExit(options.config, requireNATS: false)
                print(Route(root: config.engine.route).treeDescription)
            }
        }

        struct Test: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Print the receivers an alert with these labels reaches (like amtool config routes test).",
                discussion: "Labels are name=value; the alert's subject label routes subject patterns (subject=drl_training.x)."
            )
            @OptionGroup var options: ConfigOption

            @Option(help: "Comma-separated receivers the alert must reach; exit 1 if it reaches others.")
            var verifyReceivers: String?

            @Flag(help: "Also print each matching route's grouping and timers.")
            var verbose = false

            @Argument(help: "Labels of the alert, as name=value.")
            var labels: [String] = []

            func validate() throws {
                for pair in labels where !pair.contains("=") {
                    throw ValidationError("\"\(pair)\" is not name=value")
                }
            }

            func run() async throws {
                let config = try loadOrExit(options.config, requireNATS: false)
                let labelSet = LabelSet(Send.pairs(labels))
                let routes = Route(root: config.engine.route).match(labelSet)
                let receivers = routes.map(\.receiver)
                print(receivers.joined(separator: ","))
                if verbose {
                    for route in routes {
                        print("  \(route.receiver): route \(route.key) group_by \(route.groupBy) group \(route.groupLabels(for: labelSet)) " +
                              "group_wait \(PrometheusDuration.format(route.groupWait)) group_interval \(PrometheusDuration.format(route.groupInterval)) " +
                              "repeat_interval \(route.repeatInterval)")
                    }
                }
                if let verifyReceivers {
                    let expected = verifyReceivers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    if expected != receivers {
                        FileHandle.standardError.write(Data("WARNING: expected receivers \(expected.joined(separator: ",")), got \(receivers.joined(separator: ","))\n".utf8))
                        throw ExitCode(1)
                    }
                }
            }
        }
    }
}

extension NatsAlerter {
    struct Template: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Work with notification templates.", subcommands: [Render.self])

        struct Render: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Print what a receiver's integrations would send for sample alerts, without sending.",
                discussion: """
                    --alerts is a JSON file: a list of alerts, each {"labels": {...}, "annotations": {...}, \
                    "status": "firing"|"resolved", "startsAt": RFC 3339, "endsAt": RFC 3339, "generatorURL": "...", \
                    "repeatCount": n, "currentValue": x, "thresholdValue": y} (only labels is required). \
                    The group labels are the receiver's first route's group_by values of the first alert.
                    """
            )
            @OptionGroup var options: ConfigOption

            @Option(help: "The receiver whose integrations render.")
            var receiver: String

            @Option(help: "JSON file with sample alerts.")
            var alerts: String

            func run() async throws {
                let config = try loadOrExit(options.config)
                guard let receiverConfig = config.receivers[receiver] ?? (config.engine.receivers[receiver] != nil ? ReceiverConfiguration(name: receiver) : nil) else {
                    throw ValidationError("--receiver: no receiver named \"\(receiver)\" (have: \(config.engine.receivers.keys.sorted().joined(separator: ", ")))")
                }
                let notification = try SampleAlerts.notification(file: alerts, receiver: receiver, route: Route(root: config.engine.route))
                print(try NotificationPreview.render(receiver: receiverConfig, notification: notification, templates: config.templates, externalURL: config.externalURL))
            }
        }
    }
}

extension NatsAlerter {
    struct TestScenarios: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test",
            abstract: "Run scenario files against a config on a virtual clock and compare the notifications with those expected.",
            discussion: """
                Each file names a config and scenarios: events, metric samples and silences at times after the \
                start (at: 5m30s), and the notifications expected (at, receiver, integration, group, firing, \
                resolved). Nothing connects or sends. Exit status: 0 all passed, 1 a scenario failed, \
                2 a file is invalid (errors by YAML path). Format: docs/testing-configs.md.
                """
        )

        @Argument(help: "Scenario files.")
        var files: [String]

        @Flag(help: "Print every notification sent under each scenario (to write or fix expectations).")
        var showSent = false

        func run() async throws {
            let result = await ScenarioRunner.test(paths: files, showSent: showSent)
            if !result.output.isEmpty { print(result.output) }
            if !result.errors.isEmpty { FileHandle.standardError.write(Data((result.errors + "\n").utf8)) }
            if result.status != 0 { throw ExitCode(result.status) }
        }
    }
}

/// Reads `template render`'s sample alerts.
enum SampleAlerts {
    static func notification(file: String, receiver: String, route: Route) throws -> AlertCore.Notification {
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("--alerts: cannot read \(file)") }
        guard let list = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
            throw ValidationError("--alerts: \(file) must hold a JSON list of alert objects")
        }
        func date(_ value: Any?) -> Date? {
            (value as? String).flatMap { Date(rfc3339: $0) }
        }
        var firing: [NotifiedAlert] = [], resolved: [NotifiedAlert] = []
        let now = Date()
        for (index, object) in list.enumerated() {
            guard let labels = object["labels"] as? [String: String] else { throw ValidationError("--alerts: alert \(index) has no \"labels\" object of strings") }
            var event = AlertEvent(labels: labels, annotations: object["annotations"] as? [String: String] ?? [:])
            event.generatorURL = object["generatorURL"] as? String ?? ""
            event.currentValue = object["currentValue"] as? Double
            event.thresholdValue = object["thresholdValue"] as? Double
            let labelSet = LabelSet(labels)
            var alert = Alert(event: event, fingerprint: labelSet.fingerprint, receivedAt: date(object["startsAt"]) ?? now.addingTimeInterval(-600))
            alert.labels = labelSet
            alert.repeatCount = object["repeatCount"] as? Int ?? 0
            if object["status"] as? String == "resolved" || date(object["endsAt"]) != nil {
                alert.endsAt = date(object["endsAt"]) ?? now
                resolved.append(NotifiedAlert(alert: alert))
            } else {
                firing.append(NotifiedAlert(alert: alert))
            }
        }
        let first = (firing + resolved).first?.alert.labels ?? LabelSet()
        let matched = route.match(first).first { $0.receiver == receiver } ?? route
        let groupLabels = matched.groupLabels(for: first)
        return AlertCore.Notification(receiver: receiver, groupKey: AggregationGroup.key(route: matched, labels: groupLabels),
                                      groupLabels: groupLabels, firing: firing, resolved: resolved, sendResolved: true, timestamp: now)
    }
}

/// Loads a config or exits 2 with every error listed.
func loadOrExit(_ path: String, requireNATS: Bool = true) throws -> AlerterConfig {
    do {
        return try ConfigLoader.load(path: path, requireNATS: requireNATS)
    } catch {
        FileHandle.standardError.write(Data("\(error)\n".utf8))
        throw ExitCode(2)
    }
}
