import AlertCore
import AlertTestSupport
import AlertIngest
import CNats
import Foundation
import Testing

/// The first end-to-end path, with real processes: a real nats-server, the
/// built nats-alerter binary, events from `nats-alerter send` and from a raw
/// libnats publisher.
@Suite("End to end: nats-server → nats-alerter → alert lines", .serialized)
struct EndToEndTests {
    static func config(natsURL: String) -> String {
        """
        nats:
          servers: ["\(natsURL)"]
          subjects: ["system.error.>", "simulation_worker.>", "drl_training.>"]
          reconnect: {max_attempts: -1, wait: 200ms}
        state: {backend: memory}
        log: {level: info, format: json}
        """
    }

    @Test("send and a raw libnats publisher: one firing line, one resolve line, duplicates counted")
    func firingDuplicatesResolve() async throws {
        let directory = try makeTemporaryDirectory("e2e")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let alerter = try AlerterProcess(config: Self.config(natsURL: nats.url), directory: directory)
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")

        let common = ["send", "--server", nats.url, "--subject", "simulation_worker.process_crash",
                      "--alertname", "process_crash", "--source", "worker-7", "--label", "cluster=a"]
        let first = try await AlerterProcess.run(common + ["--summary", "Worker 7 crashed", "--value", "3", "--threshold", "1"], directory: directory)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("fingerprint f413433408f7e56e"))
        try await alerter.process.waitForOutput(containing: "\"alert_firing\"")
        #expect(try await AlerterProcess.run(common + ["--count", "4"], directory: directory).status == 0)
        #expect(try await AlerterProcess.run(common + ["--json"], directory: directory).status == 0)

        // A raw libnats publisher, payload encoded by Debian's protoc: a second alert.
        let payload = try protocEncode("""
            alert_type: "diverged_irrecoverably"
            severity: SEVERITY_CRITICAL
            source: "trainer-3"
            labels { key: "run" value: "ppo-42" }
            """)
        try rawPublish(url: nats.url, subject: "drl_training.diverged_irrecoverably", payload: payload, times: 3)
        try await alerter.process.waitForOutput(containing: "\"alert_firing\"", count: 2)

        #expect(try await AlerterProcess.run(common + ["--resolved"], directory: directory).status == 0)
        try await alerter.process.waitForOutput(containing: "\"alert_resolved\"")

        alerter.process.signal(SIGTERM)
        #expect(try await alerter.process.waitForExit() == 0)
        let lines = alerter.process.jsonLines
        let firing = lines.filter { $0["event"] as? String == "alert_firing" }
        let resolved = lines.filter { $0["event"] as? String == "alert_resolved" }
        #expect(firing.count == 2)
        #expect(resolved.count == 1)

        let crash = try #require(firing.first { $0["fingerprint"] as? String == "f413433408f7e56e" })
        #expect(crash["labels"] as? [String: String] == [
            "alertname": "process_crash", "cluster": "a", "severity": "critical", "source": "worker-7",
            "subject": "simulation_worker.process_crash",
        ])
        #expect((crash["annotations"] as? [String: String])?["summary"] == "Worker 7 crashed")
        #expect(crash["current_value"] as? Double == 3)
        #expect(crash["threshold_value"] as? Double == 1)
        #expect(resolved.first?["fingerprint"] as? String == "f413433408f7e56e")
        #expect(resolved.first?["repeat_count"] as? Int == 5)
        #expect(resolved.first?["ends_at"] != nil)

        let diverged = try #require(firing.first { ($0["labels"] as? [String: String])?["alertname"] == "diverged_irrecoverably" })
        #expect((diverged["labels"] as? [String: String])?["run"] == "ppo-42")

        let summary = try #require(lines.first { $0["event"] as? String == "ingest_summary" })
        let counters = try #require(summary["counters"] as? [String: Int])
        #expect(counters["received"] == 10)  // 1 + 4 + 1 JSON + 3 raw + 1 resolve
        #expect(counters["fired"] == 2)
        #expect(counters["duplicates"] == 7)  // 4 + 1 JSON for the crash, 2 for the raw publisher's
        #expect(counters["resolved"] == 1)
        #expect(summary["active_alerts"] as? Int == 1)
    }

    @Test("the service reconnects after nats-server restarts and processes later events")
    func reconnect() async throws {
        let directory = try makeTemporaryDirectory("reconnect")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let alerter = try AlerterProcess(config: Self.config(natsURL: nats.url), directory: directory)
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")

        let before = ["send", "--server", nats.url, "--subject", "system.error.critical", "--alertname", "before_restart"]
        #expect(try await AlerterProcess.run(before, directory: directory).status == 0)
        try await alerter.process.waitForOutput(containing: "before_restart")

        await nats.stop()
        try await alerter.process.waitForOutput(containing: "disconnected from NATS; reconnecting")
        try await Task.sleep(for: .milliseconds(500))
        try await nats.start()
        try await alerter.process.waitForOutput(containing: "reconnected to NATS", timeout: .seconds(20))

        let after = ["send", "--server", nats.url, "--subject", "system.error.critical", "--alertname", "after_restart"]
        #expect(try await AlerterProcess.run(after, directory: directory).status == 0)
        try await alerter.process.waitForOutput(containing: "after_restart")

        alerter.process.signal(SIGTERM)
        #expect(try await alerter.process.waitForExit() == 0)
        let firing = alerter.process.jsonLines.filter { $0["event"] as? String == "alert_firing" }
        #expect(firing.compactMap { ($0["labels"] as? [String: String])?["alertname"] } == ["before_restart", "after_restart"])
        let summary = try #require(alerter.process.jsonLines.first { $0["event"] as? String == "ingest_summary" })
        #expect(summary["nats_reconnects"] as? Int == 1)
    }

    @Test("started before nats-server is up, the service retries in the background and then processes events")
    func startsBeforeServer() async throws {
        let directory = try makeTemporaryDirectory("late-server")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = NATSServer(directory: directory)
        let alerter = try AlerterProcess(config: Self.config(natsURL: nats.url), directory: directory)
        try await alerter.process.waitForOutput(containing: "no NATS server answered yet; retrying in the background")
        try await nats.start()
        defer { nats.kill() }
        try await alerter.process.waitForOutput(containing: "connected to NATS")
        let sent = try await AlerterProcess.run(["send", "--server", nats.url, "--alertname", "late_start"], directory: directory)
        #expect(sent.status == 0)
        try await alerter.process.waitForOutput(containing: "late_start")
        await alerter.process.stop()
    }

    @Test("events flow through routes and groups into notifications; inhibition and resolve included")
    func notifications() async throws {
        let directory = try makeTemporaryDirectory("e2e-notify")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let alerter = try AlerterProcess(config: Self.config(natsURL: nats.url) + """

            route:
              receiver: oncall
              group_by: [alertname]
              group_wait: 5s      # each send below is a process of its own: on a loaded machine 1.5 s split db-1 and db-2
              group_interval: 1s
              repeat_interval: 1h
              routes:
                - receiver: ml
                  subjects: ["drl_training.>"]
                  group_wait: 0s
                  repeat_interval: never
            receivers: [{name: oncall}, {name: ml}]
            inhibit_rules:
              - source_matchers: ['severity="critical"']
                target_matchers: ['severity="warning"']
                equal: [source]
            """, directory: directory)
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        func send(_ arguments: [String]) async throws {
            let result = try await AlerterProcess.run(["send", "--server", nats.url] + arguments, directory: directory)
            #expect(result.status == 0, "\(result.output)")
        }
        try await send(["--subject", "drl_training.diverged_irrecoverably", "--alertname", "diverged_irrecoverably", "--source", "ppo-42"])
        try await send(["--subject", "system.error.critical", "--alertname", "disk_full", "--source", "db-1", "--count", "3"])
        try await send(["--subject", "system.error.critical", "--alertname", "disk_full", "--source", "db-2"])
        try await send(["--subject", "system.error.critical", "--alertname", "node_down", "--source", "db-3"])
        try await send(["--subject", "system.error.critical", "--alertname", "disk_slow", "--source", "db-3", "--severity", "warning"])
        try await alerter.process.waitForOutput(containing: "\"event\":\"notification\"", count: 3)
        try await send(["--subject", "system.error.critical", "--alertname", "disk_full", "--source", "db-1", "--resolved"])
        try await alerter.process.waitForOutput(containing: "\"event\":\"notification\"", count: 4)
        try await Task.sleep(for: .seconds(1.5))
        await alerter.process.stop()

        let notifications = alerter.process.jsonLines.filter { $0["event"] as? String == "notification" }
        func sources(_ alerts: Any?) -> [String] {
            ((alerts as? [[String: Any]]) ?? []).compactMap { ($0["labels"] as? [String: String])?["source"] }.sorted()
        }
        let summary = notifications.map { n -> String in
            let group = (n["group_labels"] as? [String: String])?["alertname"] ?? "?"
            return "\(n["receiver"] as? String ?? "?") \(group) firing=\(sources(n["firing"])) resolved=\(sources(n["resolved"]))"
        }
        #expect(summary == [
            "ml diverged_irrecoverably firing=[\"ppo-42\"] resolved=[]",
            "oncall disk_full firing=[\"db-1\", \"db-2\"] resolved=[]",
            "oncall node_down firing=[\"db-3\"] resolved=[]",
            "oncall disk_full firing=[\"db-2\"] resolved=[\"db-1\"]",
        ])
        // The crash-like event reached its receiver at once; the warning from db-3 was inhibited.
        #expect(!summary.contains { $0.contains("disk_slow") })
        let first = try #require((notifications[1]["firing"] as? [[String: Any]])?.first { ($0["labels"] as? [String: String])?["source"] == "db-1" })
        #expect(first["repeat_count"] as? Int == 2)
    }

    @Test("check-config lists every error by YAML path and exits non-zero")
    func checkConfig() async throws {
        let directory = try makeTemporaryDirectory("check")
        defer { try? FileManager.default.removeItem(at: directory) }
        let bad = directory.appendingPathComponent("bad.yaml")
        try "nats:\n  servers: [\"http://x\"]\n  subjects: [\"a..b\"]\n".write(to: bad, atomically: true, encoding: .utf8)
        let result = try await AlerterProcess.run(["check-config", "--config", bad.path], directory: directory)
        #expect(result.status == 1)
        #expect(result.output.contains("nats.servers[0]: \"http://x\" is not a nats:// or tls:// URL (line 2)"))
        #expect(result.output.contains("nats.subjects[0]: \"a..b\" has an empty token"))

        let good = try await AlerterProcess.run(["check-config", "--config", packageRoot.appendingPathComponent("config/alerter.yaml").path], directory: directory)
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.contains("valid"))
    }
}

/// Publishes with plain libnats calls — no nats-alerter code in the path.
func rawPublish(url: String, subject: String, payload: [UInt8], times: Int) throws {
    var connection: OpaquePointer?
    guard natsConnection_ConnectTo(&connection, url) == NATS_OK, let connection else {
        throw HarnessError("raw publisher could not connect to \(url)")
    }
    defer { natsConnection_Destroy(connection) }
    for _ in 0..<times {
        let status = payload.withUnsafeBytes { natsConnection_Publish(connection, subject, $0.baseAddress, Int32($0.count)) }
        guard status == NATS_OK else { throw HarnessError("raw publish failed: \(status)") }
    }
    guard natsConnection_FlushTimeout(connection, 5000) == NATS_OK else { throw HarnessError("raw flush failed") }
}
