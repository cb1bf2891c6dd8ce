import AlertIngest
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
    @Test("the shipped config/alerter.yaml is valid")
    func shippedConfig() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let config = try ConfigLoader.load(path: root.appendingPathComponent("config/alerter.yaml").path)
        #expect(config.nats.subjects.contains("system.error.>"))
        #expect(config.state.backend == .memory)
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

    @Test("an Alertmanager routing section loads and is reported as not used yet")
    func alertmanagerSections() throws {
        let config = try ConfigLoader.parse(yaml: """
            nats: {subjects: ["a.>"]}
            global: {resolve_timeout: 5m}
            route: {receiver: team, group_by: [alertname]}
            receivers: [{name: team}]
            """)
        #expect(config.acceptedButUnused == ["global", "route", "receivers"])
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
        ("nats: {subjects: [a]}\nstate: {backend: jetstream}", "state.backend: \"jetstream\" is not available in this version yet"),
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
