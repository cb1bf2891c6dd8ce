import AlertIngest
import AlertCore
@testable import AlertService
import Foundation
import Testing

func issues(_ yaml: String, base: String = ".") -> [String] {
    do {
        _ = try ConfigLoader.parse(yaml: yaml, baseDirectory: base)
        return []
    } catch {
        return error.issues.map(\.description)
    }
}

@Suite("Configuration loading and validation")
struct ConfigLoaderTests {
    @Test("a plain Alertmanager file loads for check-config and routes: no nats is a note; keys without effect are named")
    func alertmanagerOnlyFile() throws {
        let yaml = """
            global:
              resolve_timeout: 1m
              http_config: {follow_redirects: false}
              pagerduty_url: https://events.pagerduty.com/v2/enqueue
            tracing: {endpoint: "localhost:4317"}
            route: {receiver: team}
            receivers:
              - name: team
                pagerduty_configs: [{routing_key: x}]
            """
        let config = try ConfigLoader.parse(yaml: yaml, requireNATS: false)
        #expect(config.engine.resolveTimeout == .seconds(60))
        for named in ["nats: missing", "global.http_config:", "global.pagerduty_url:", "tracing:", "receivers[0].pagerduty_configs:"] {
            #expect(config.notes.contains { $0.hasPrefix(named) }, "no note starts with \(named): \(config.notes)")
        }
        // `run` still needs the nats section.
        #expect(issues(yaml).contains { $0.hasPrefix("nats: missing") })
    }

    @Test("the shipped config/alerter.yaml is valid")
    func shippedConfig() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let config = try ConfigLoader.load(path: root.appendingPathComponent("config/alerter.yaml").path)
        #expect(config.nats.subjects.contains("system.error.>"))
        #expect(config.state.backend == .jetstream)
        #expect(config.nats.jetstream?.stream.name == "ALERT_EVENTS")
    }

    @Test("every supported key is read")
    func everyKey() throws {
        let config = try ConfigLoader.parse(yaml: """
            nats:
              servers: ["nats://a:4222", "tls://b:4443"]
              name: alerter-1
              user: alice
              password: secret
              tls: {server_name: nats.internal, insecure_skip_verify: true}
              connect_timeout: 3s
              reconnect: {max_attempts: 10, wait: 500ms}
              subjects: ["system.error.>", "simulation_worker.*.crash"]
              queue_group: alerters
              pending_limits: {messages: 1000, bytes: 1048576}
              limits: {max_payload_bytes: 2048, max_labels: 8, max_label_name_bytes: 64,
                       max_label_value_bytes: 256, max_annotations: 4, max_annotation_value_bytes: 512}
            state: {backend: memory, max_active_alerts: 5000}
            log: {level: debug, format: text}
            """)
        let connection = config.nats.connection
        #expect(connection.servers == ["nats://a:4222", "tls://b:4443"])
        #expect(connection.name == "alerter-1")
        #expect(connection.authentication == .userPassword(user: "alice", password: "secret"))
        #expect(connection.tls == .init(serverName: "nats.internal", insecureSkipVerify: true))
        #expect(connection.connectTimeout == .seconds(3))
        #expect(connection.maxReconnectAttempts == 10)
        #expect(connection.reconnectWait == .milliseconds(500))
        #expect(connection.pendingMessagesLimit == 1000 && connection.pendingBytesLimit == 1_048_576)
        #expect(config.nats.subjects == ["system.error.>", "simulation_worker.*.crash"])
        #expect(config.nats.queueGroup == "alerters")
        #expect(config.nats.limits == .init(maxPayloadBytes: 2048, maxLabels: 8, maxLabelNameBytes: 64,
                                            maxLabelValueBytes: 256, maxAnnotations: 4, maxAnnotationValueBytes: 512))
        #expect(config.state.maxActiveAlerts == 5000)
        #expect(config.log.level == .debug && config.log.format == .text)
    }

    @Test("an existing Alertmanager routing config loads unchanged")
    func alertmanagerSections() throws {
        let config = try ConfigLoader.parse(yaml: """
            nats: {subjects: ["a.>"]}
            global: {resolve_timeout: 10m, smtp_smarthost: "mail:25", smtp_from: "alerts@example.com", slack_api_url: "https://hooks.example/x"}
            route:
              receiver: team
              group_by: [alertname, cluster]
              group_wait: 10s
              group_interval: 1m
              repeat_interval: 2h
              routes:
                - matchers: ['severity="critical"', 'team=~"db|infra"']
                  receiver: pager
                  continue: true
                - match: {service: api}
                  match_re: {env: "prod|staging"}
                  receiver: team
                  mute_time_intervals: [offhours]
                - receiver: ml
                  subjects: ["drl_training.>"]
                  repeat_interval: never
                  send_resolved_when_muted: true
                  group_by: ['...']
            receivers:
              - name: team
                email_configs: [{to: team@example.com}]
              - name: pager
                webhook_configs: [{url: "http://pager"}]
              - name: ml
                slack_configs: [{channel: "#ml", send_resolved: true}]
            inhibit_rules:
              - source_matchers: ['severity="critical"']
                target_matchers: ['severity="warning"']
                equal: [cluster]
              - source_match: {alertname: NodeDown}
                target_match_re: {alertname: ".+"}
            time_intervals:
              - name: offhours
                time_intervals:
                  - times: [{start_time: "18:00", end_time: "24:00"}]
                    weekdays: ["monday:friday"]
                    location: Europe/Berlin
            templates: ["templates/*.tmpl"]
            """)
        let engine = config.engine
        #expect(engine.resolveTimeout == .seconds(600))
        #expect(engine.route.receiver == "team")
        #expect(engine.route.groupBy == .labels(["alertname", "cluster"]))
        #expect(engine.route.routes.count == 3)
        #expect(engine.route.routes[0].matchers.map(\.description) == [#"severity="critical""#, #"team=~"db|infra""#])
        #expect(engine.route.routes[0].continueMatching)
        #expect(engine.route.routes[1].matchers.map(\.description) == [#"service="api""#, #"env=~"prod|staging""#])
        #expect(engine.route.routes[1].muteTimeIntervals == ["offhours"])
        #expect(engine.route.routes[2].repeatInterval == .never)
        #expect(engine.route.routes[2].groupBy == .all)
        #expect(engine.route.routes[2].sendResolvedWhenMuted == true)
        #expect(engine.receivers["team"]?.sendResolved == false)   // email's default
        #expect(engine.receivers["pager"]?.sendResolved == true)   // webhook's default
        #expect(engine.receivers["ml"]?.sendResolved == true)      // explicit
        #expect(engine.inhibitRules.count == 2)
        #expect(engine.inhibitRules[0].equal == ["cluster"])
        #expect(engine.timeIntervals["offhours"]?.intervals.first?.location.identifier == "Europe/Berlin")
        #expect(config.acceptedButUnused.isEmpty)
        #expect(config.receivers["team"]?.email.first?.smarthost == "mail:25")
        #expect(config.receivers["ml"]?.slack.first?.apiURL == .inline("https://hooks.example/x"))
    }

    @Test("routing errors are named by YAML path", arguments: [
        ("route: {receiver: nobody}\nreceivers: [{name: team}]", "route.receiver: receiver \"nobody\" is not defined"),
        ("route: {receiver: team, matchers: ['a=\"b\"']}\nreceivers: [{name: team}]", "route: the root route must not have matchers"),
        ("route: {group_by: [a]}\nreceivers: [{name: team}]", "route: the root route must name a receiver"),
        ("route: {receiver: team, routes: [{matchers: ['a=~\"(\"']}]}\nreceivers: [{name: team}]", "route.routes[0].matchers[0]: invalid regular expression"),
        ("route: {receiver: team, routes: [{matchers: ['a']}]}\nreceivers: [{name: team}]", "route.routes[0].matchers[0]: expected one of"),
        ("route: {receiver: team, group_by: ['...', a]}\nreceivers: [{name: team}]", "route.group_by: '...' (group by all labels) cannot be combined"),
        ("route: {receiver: team, group_by: ['a-b']}\nreceivers: [{name: team}]", "route.group_by[0]: \"a-b\" is not a valid label name"),
        ("route: {receiver: team, repeat_interval: sometimes}\nreceivers: [{name: team}]", "route.repeat_interval: \"sometimes\" is not a duration"),
        ("route: {receiver: team, routes: [{mute_time_intervals: [nights]}]}\nreceivers: [{name: team}]", "route.routes[0].mute_time_intervals: time interval \"nights\" is not defined"),
        ("route: {receiver: team, routes: [{subjects: ['a..b']}]}\nreceivers: [{name: team}]", "route.routes[0].subjects[0]: \"a..b\" has an empty token"),
        ("route: {receiver: team, routes: [{recevier: x}]}\nreceivers: [{name: team}]", "route.routes[0].recevier: unknown field; did you mean \"receiver\"?"),
        ("route: {receiver: team}\nreceivers: [{name: team}, {name: team}]", "receivers[1].name: receiver \"team\" is defined twice"),
        ("route: {receiver: team}", "receivers: route and receivers go together"),
        ("route: {receiver: t}\nreceivers: [{name: t}]\ninhibit_rules: [{equal: [a]}]", "inhibit_rules[0]: needs source_matchers"),
        ("route: {receiver: t}\nreceivers: [{name: t}]\ninhibit_rules: [{source_matchers: ['a=b'], target_matchers: ['c=d'], equal: ['x-y']}]", "inhibit_rules[0].equal[0]: \"x-y\" is not a valid label name"),
        ("time_intervals: [{name: w, time_intervals: [{weekdays: [funday]}]}]", "time_intervals[0].time_intervals[0].weekdays[0]: "),
        ("time_intervals: [{name: w, time_intervals: [{times: [{start_time: '18:00', end_time: '17:00'}]}]}]", "time_intervals[0].time_intervals[0].times[0]: start_time \"18:00\" is not before end_time \"17:00\""),
        ("time_intervals: [{name: w, time_intervals: [{weekdays: []}]}]", "time_intervals[0].time_intervals[0].weekdays: an empty list matches nothing"),
        ("time_intervals: [{name: w, time_intervals: [{location: Mars/Olympus}]}]", "time_intervals[0].time_intervals[0].location: "),
        ("global: {resolve_timeout: 0s}", "global.resolve_timeout: must be greater than 0"),
        ("global: {smtp_smarthostt: x}", "global.smtp_smarthostt: unknown field; did you mean \"smtp_smarthost\"?"),
        ("state: {resolve_timeout_by_alert_type: {process_crash: soon}}", "state.resolve_timeout_by_alert_type.process_crash: \"soon\" is not a duration"),
    ])
    func routingErrors(yaml: String, expected: String) {
        let found = issues("nats: {subjects: [a]}\n" + yaml)
        #expect(found.contains { $0.hasPrefix(expected) }, "got \(found)")
    }

    @Test("receiver errors are named by YAML path", arguments: [
        ("receivers: [{name: t, slack_configs: [{channel: x}]}]", "receivers[0].slack_configs[0].api_url: missing: set api_url, api_url_file or global.slack_api_url"),
        ("receivers: [{name: t, slack_configs: [{api_url: 'ftp://x'}]}]", "receivers[0].slack_configs[0].api_url: not an http:// or https:// URL"),
        ("receivers: [{name: t, slack_configs: [{api_url: 'http://x', title: '{{ .CommonLabels.alertname }}'}]}]", "receivers[0].slack_configs[0].title: this looks like an Alertmanager Go template"),
        ("receivers: [{name: t, slack_configs: [{api_url: 'http://x', text: '{{#firing}}'}]}]", "receivers[0].slack_configs[0].text: not a valid Mustache template"),
        ("receivers: [{name: t, slack_configs: [{api_url: 'http://x', chanel: y}]}]", "receivers[0].slack_configs[0].chanel: unknown field; did you mean \"channel\"?"),
        ("receivers: [{name: t, email_configs: [{to: a@b.c}]}]", "receivers[0].email_configs[0].from: missing: set from or global.smtp_from"),
        ("receivers: [{name: t, email_configs: [{to: a@b.c, from: x@y.z}]}]", "receivers[0].email_configs[0].smarthost: missing"),
        ("receivers: [{name: t, email_configs: [{to: a@b.c, from: x@y.z, smarthost: mail}]}]", "receivers[0].email_configs[0].smarthost: \"mail\" is not host:port"),
        ("receivers: [{name: t, email_configs: [{to: a@b.c, from: x@y.z, smarthost: 'm:25', headers: {'Bad Header': x}}]}]", "receivers[0].email_configs[0].headers.Bad Header: not a valid header name"),
        ("receivers: [{name: t, webhook_configs: [{max_alerts: 3}]}]", "receivers[0].webhook_configs[0].url: missing: set url or url_file"),
        ("receivers: [{name: t, webhook_configs: [{url: 'http://x', url_file: f}]}]", "receivers[0].webhook_configs[0].url: set either the value or its _file twin"),
        ("receivers: [{name: t, alertmanager_configs: [{urls: []}]}]", "receivers[0].alertmanager_configs[0].urls: at least one Alertmanager URL"),
        ("receivers: [{name: t, alertmanager_configs: [{urls: ['am:9093']}]}]", "receivers[0].alertmanager_configs[0].urls[0]: \"am:9093\" is not an http:// or https:// URL"),
        ("receivers: [{name: t, alertmanager_configs: [{urls: ['http://a'], resend_interval: 0s}]}]", "receivers[0].alertmanager_configs[0].resend_interval: must be greater than 0"),
        ("receivers: [{name: t, sms_configs: []}]", "receivers[0].sms_configs: unknown field"),
    ])
    func receiverErrors(yaml: String, expected: String) {
        let found = issues("nats: {subjects: [a]}\nroute: {receiver: t}\n" + yaml)
        #expect(found.contains { $0.hasPrefix(expected) }, "got \(found)")
    }

    @Test("global defaults fill integrations; unsupported Alertmanager kinds and options are noted, not fatal")
    func globalsAndNotes() throws {
        let config = try ConfigLoader.parse(yaml: """
            nats: {subjects: [a]}
            global: {smtp_from: a@x.org, smtp_smarthost: "mail:587", smtp_require_tls: false, smtp_auth_username: u, smtp_auth_password: p,
                     notification_deadline: 2m, external_url: "http://alerter"}
            route: {receiver: t}
            receivers:
              - name: t
                email_configs: [{to: "b@x.org"}]
                pagerduty_configs: [{routing_key: k}]
                webhook_configs: [{url: "http://hook", http_config: {}}]
            """)
        let email = try #require(config.receivers["t"]?.email.first)
        #expect(email.from == "a@x.org" && email.smarthost == "mail:587" && email.requireTLS == false)
        #expect(email.authUsername == "u" && email.authPassword == .inline("p"))
        #expect(config.retryPolicy.deadline == .seconds(120))
        #expect(config.externalURL == "http://alerter")
        #expect(config.notes.contains { $0.hasPrefix("receivers[0].pagerduty_configs: Alertmanager integration not supported") })
        #expect(config.notes.contains { $0.hasPrefix("receivers[0].webhook_configs[0].http_config: Alertmanager option without effect") })
        #expect(config.engine.receivers["t"]?.sendResolved == true)  // the webhook sends resolved
    }

    @Test("secrets come from *_file twins, relative to the config's folder")
    func secretFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("alerter-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "s3cr3t\n".write(to: folder.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let config = try ConfigLoader.parse(yaml: "nats: {subjects: [a], token_file: token}", baseDirectory: folder.path)
        #expect(config.nats.connection.authentication == .token("s3cr3t"))
        #expect(issues("nats: {subjects: [a], token_file: missing}", base: folder.path).first?.hasPrefix("nats.token_file: cannot read") == true)
    }

    @Test("every error is listed by YAML path, not just the first")
    func allErrorsListed() {
        let found = issues("""
            nats:
              servers: ["http://x", "nats://h:99999"]
              subjects: ["a..b", "a.>.c", "a.b*"]
              limits: {max_labels: 0}
              reconect: {}
            state: {backend: redis}
            log: {level: loud, format: xml}
            recievers: []
            """)
        #expect(found.count == 11)
        let expectedPrefixes = [
            "nats.servers[0]: \"http://x\" is not a nats:// or tls:// URL",
            "nats.servers[1]: \"nats://h:99999\" has an invalid port",
            "nats.subjects[0]: \"a..b\" has an empty token",
            "nats.subjects[1]: \"a.>.c\": \">\" must be the last token",
            "nats.subjects[2]: \"a.b*\": wildcards must be a whole token",
            "nats.limits.max_labels: must be at least 1, found 0",
            "nats.reconect: unknown field; did you mean \"reconnect\"?",
            "state.backend: unknown backend \"redis\"",
            "log.level: unknown level \"loud\"",
            "log.format: unknown format \"xml\"",
            "recievers: unknown field; did you mean \"receivers\"?",
        ]
        for prefix in expectedPrefixes {
            #expect(found.contains { $0.hasPrefix(prefix) }, "missing: \(prefix)")
        }
    }

    @Test("wrong shapes and missing sections are named", arguments: [
        ("log: {level: info}", "nats: missing"),
        ("nats: {subjects: []}", "nats.subjects: at least one subject"),
        ("nats: [a]", "nats: expected a mapping"),
        ("nats: {subjects: a.b}", "nats.subjects: expected a list"),
        ("nats: {subjects: [a], reconnect: {wait: soon}}", "nats.reconnect.wait: \"soon\" is not a duration"),
        ("nats: {subjects: [a], reconnect: {max_attempts: -2}}", "nats.reconnect.max_attempts: must be at least -1"),
        ("nats: {subjects: [a], user: u}", "nats.password: user and password go together"),
        ("nats: {subjects: [a], user: u, password: p, token: t}", "nats: choose one authentication method"),
        ("nats: {subjects: [a], token: t, token_file: f}", "nats.token: set either token or token_file"),
        ("nats: {subjects: [a], nkey: UABC}", "nats.nkey_seed_file: nkey (the public key) and nkey_seed_file go together"),
        ("nats: {subjects: [a], tls: {cert_file: /etc/hostname}}", "nats.tls: cert_file and key_file go together"),
        ("nats: {subjects: [a], queue_group: \"a b\"}", "nats.queue_group: a queue group name must be non-empty"),
        ("nats: {subjects: [a]}\nstate: {backend: redis}", "state.backend: unknown backend \"redis\" (allowed: memory, jetstream)"),
        ("nats: {subjects: [a.>], jetstream: {dead_letter_subject: a.dead}}", "nats.jetstream.dead_letter_subject: \"a.dead\" is captured by the events stream"),
        ("nats: {subjects: [a], jetstream: {stream: 'my.stream'}}", "nats.jetstream.stream: a stream name cannot"),
        ("nats: {subjects: [a], jetstream: {ack_wait: 0s}}", "nats.jetstream.ack_wait: must be greater than 0"),
        ("nats: {subjects: [a], queue_group: g, jetstream: {}}", "nats.queue_group: not used with nats.jetstream"),
        ("nats: {subjects: [a]}\nstate: {backend: jetstream, jetstream: {storage: disk}}", "state.jetstream.storage: storage is file or memory"),
        ("nats: {subjects: [a], pending_limits: {messages: 4000000}}", "nats.pending_limits.messages: at most 2000000"),
        ("nats: {subjects: [a]}\nstate: {backend: jetstream, jetstream: {outbox: {ack_wait: 1s}}}", "state.jetstream.outbox.ack_wait: must be at least 3s"),
        ("nats: {subjects: [a]}\nstate: {backend: jetstream, jetstream: {outbox: {retries: 3}}}", "state.jetstream.outbox.retries: unknown field"),
        ("nats: {subjects: [a], subjects: [b]}", "(top level): not valid YAML: Parser: expected all keys to be unique"),
        ("nats: {subjects: [a]\n", "(top level): not valid YAML"),
    ])
    func namedErrors(yaml: String, expected: String) {
        let found = issues(yaml)
        #expect(found.contains { $0.hasPrefix(expected) }, "got \(found)")
    }

    @Test("a missing file is an error that names the file")
    func missingFile() {
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: "/nonexistent/alerter.yaml") }
    }
}
