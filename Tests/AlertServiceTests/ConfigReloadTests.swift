@testable import AlertService
import Testing

@Suite("Configuration reload: what applies at once and what waits for a restart")
struct ConfigReloadTests {
    static func config(_ yaml: String) throws -> AlerterConfig {
        try ConfigLoader.parse(yaml: "nats: {subjects: [system.error.>]}\n" + yaml)
    }

    @Test("an operator raises max_active_alerts and resolved_retention: the cap waits for a restart, the retention applies")
    func restartOnlyKeyIsNamed() throws {
        let running = try Self.config("state: {max_active_alerts: 1000, resolved_retention: 15m}")
        let edited = try Self.config("state: {max_active_alerts: 5000, resolved_retention: 1h}")
        #expect(AlerterConfig.restartNotes(from: running, to: edited) == ["state: max_active_alerts takes effect after a restart"])
    }

    @Test("an operator changes only live keys (retention, routing, global timeouts): the reload says nothing")
    func liveChangeIsSilent() throws {
        let running = try Self.config("state: {resolved_retention: 15m}")
        let edited = try Self.config("state: {resolved_retention: 1h}\nglobal: {resolve_timeout: 1m}")
        #expect(AlerterConfig.restartNotes(from: running, to: edited).isEmpty)
        #expect(AlerterConfig.restartNotes(from: running, to: running).isEmpty)
    }

    @Test("changes inside restart-only sections, nested ones included, are noted once per section", arguments: [
        ("nats: {subjects: [other.>]}", "nats: changes take effect after a restart"),
        ("nats: {subjects: [system.error.>], jetstream: {ack_wait: 1m}}", "nats: changes take effect after a restart"),
        ("nats: {subjects: [system.error.>], reconnect: {wait: 5s}}", "nats: changes take effect after a restart"),
        ("state: {backend: jetstream, max_active_alerts: 10}", "state: backend and max_active_alerts take effect after a restart"),
        ("state: {jetstream: {outbox: {max_deliver: 3}}}", "state: jetstream takes effect after a restart"),
        ("server: {listen_address: '0.0.0.0:9094'}", "server: changes take effect after a restart"),
        ("log: {level: debug}", "log: changes take effect after a restart"),
        ("rules: [{name: hot, kind: threshold, subjects: [metrics.x], condition: '> 1'}]", "rules: changes take effect after a restart"),
    ])
    func restartSections(edit: String, note: String) throws {
        let running = try Self.config("")
        let edited = try ConfigLoader.parse(yaml: edit.hasPrefix("nats") ? edit : "nats: {subjects: [system.error.>]}\n" + edit)
        #expect(AlerterConfig.restartNotes(from: running, to: edited) == [note])
    }
}
