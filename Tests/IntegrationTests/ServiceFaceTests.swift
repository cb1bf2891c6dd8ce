import AlertCore
import AlertIngest
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Testing

/// The built binary driven by the real clients: amtool, promtool, signals.
@Suite("Service face: amtool, promtool, signals", .serialized)
struct ServiceFaceTests {
    static func config(nats: String, httpPort: Int) -> String {
        """
        nats: {servers: ["\(nats)"], subjects: ["system.>"]}
        server: {listen_address: "127.0.0.1:\(httpPort)"}
        route:
          receiver: oncall
          group_by: ['...']
          group_wait: 0s
          group_interval: 1s
        receivers: [{name: oncall}]
        """
    }

    static func amtool(_ arguments: [String], port: Int, directory: URL) async throws -> (status: Int32, output: String) {
        let child = try ChildProcess(name: "amtool", executable: "/usr/bin/amtool",
                                     arguments: ["--alertmanager.url=http://127.0.0.1:\(port)"] + arguments, directory: directory)
        let status = try await child.waitForExit(timeout: .seconds(20))
        return (status, child.output.split(separator: "\n").filter { !$0.hasPrefix("Warning: amtool version") }.joined(separator: "\n"))
    }

    func notifications(_ alerter: AlerterProcess) -> [String] {
        alerter.process.jsonLines.filter { $0["event"] as? String == "notification" }.flatMap { line in
            ((line["firing"] as? [[String: Any]]) ?? []).compactMap { ($0["labels"] as? [String: String])?["source"] }
        }
    }

    @Test("amtool queries alerts, adds/queries/expires/imports silences; an amtool silence mutes the next notification")
    func amtoolWorks() async throws {
        let directory = try makeTemporaryDirectory("amtool")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let port = freeLoopbackPort()
        let alerter = try AlerterProcess(config: Self.config(nats: nats.url, httpPort: port), directory: directory)
        defer { alerter.process.kill() }
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        func send(_ source: String) async throws {
            let result = try await AlerterProcess.run(["send", "--server", nats.url, "--alertname", "deploy_failed", "--source", source], directory: directory)
            #expect(result.status == 0)
        }
        try await send("first")
        try await alerter.process.waitForOutput(containing: "\"notification\"")

        let query = try await Self.amtool(["alert", "query"], port: port, directory: directory)
        #expect(query.status == 0, "\(query.output)")
        #expect(query.output.contains("deploy_failed") && query.output.contains("active"))

        let add = try await Self.amtool(["silence", "add", "alertname=deploy_failed", "--comment=rollback in progress", "--duration=1h"], port: port, directory: directory)
        #expect(add.status == 0, "\(add.output)")
        let id = add.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 36)
        let silences = try await Self.amtool(["silence", "query"], port: port, directory: directory)
        #expect(silences.output.contains(id) && silences.output.contains("rollback in progress"))
        let suppressed = try await Self.amtool(["alert", "query", "-s"], port: port, directory: directory)
        #expect(suppressed.output.contains("suppressed"))

        try await send("muted")
        try await alerter.process.waitForOutput(containing: "\"muted\"")
        try await Task.sleep(for: .seconds(2))
        #expect(!notifications(alerter).contains("muted"), "a silenced alert was notified")

        let exported = try await Self.amtool(["silence", "query", "-o", "json"], port: port, directory: directory)
        let expire = try await Self.amtool(["silence", "expire", id], port: port, directory: directory)
        #expect(expire.status == 0, "\(expire.output)")
        #expect(try await Self.amtool(["silence", "query", "-q"], port: port, directory: directory).output.isEmpty)
        try await send("after")
        try await alerter.process.waitForOutput(containing: "\"after\"")
        #expect(await waitUntil(timeout: .seconds(5)) { notifications(alerter).contains("after") })

        // Import the exported silence back: a new one, same matchers.
        let file = directory.appendingPathComponent("silences.json")
        try exported.output.write(to: file, atomically: true, encoding: .utf8)
        let imported = try await Self.amtool(["silence", "import", file.path], port: port, directory: directory)
        #expect(imported.status == 0, "\(imported.output)")
        let active = try await Self.amtool(["silence", "query", "-q"], port: port, directory: directory)
        #expect(active.output.split(separator: "\n").count == 1 && !active.output.contains(id))

        let routes = try await Self.amtool(["config", "routes", "test", "alertname=x"], port: port, directory: directory)
        #expect(routes.output.trimmingCharacters(in: .whitespacesAndNewlines) == "oncall", "\(routes.output)")
    }

    @Test("/metrics of the running service passes promtool check metrics")
    func promtool() async throws {
        let directory = try makeTemporaryDirectory("promtool")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let port = freeLoopbackPort()
        let alerter = try AlerterProcess(config: Self.config(nats: nats.url, httpPort: port), directory: directory)
        defer { alerter.process.kill() }
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        #expect(try await AlerterProcess.run(["send", "--server", nats.url, "--alertname", "high_memory", "--source", "n1"], directory: directory).status == 0)
        try rawPublish(url: nats.url, subject: "system.garbage", payload: [0x10, 0x63], times: 1)
        try await alerter.process.waitForOutput(containing: "\"notification\"")
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        let scrape = directory.appendingPathComponent("metrics.txt")
        try data.write(to: scrape)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#"alerts_triggered_total{alert_type="high_memory"} 1"#))
        #expect(text.contains(#"nats_alerter_events_rejected_total{subject="system.>",reason="unknown_enum_value"} 1"#))
        #expect(text.contains("nats_alerter_nats_connected 1"))
        let check = try ChildProcess(name: "promtool", executable: "/bin/sh", arguments: ["-c", "promtool check metrics < '\(scrape.path)'"], directory: directory)
        #expect(try await check.waitForExit() == 0, "\(check.output)")
        let (readyData, readyResponse) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/-/ready")!)
        #expect((readyResponse as? HTTPURLResponse)?.statusCode == 200, "\(String(decoding: readyData, as: UTF8.self))")
    }

    @Test("SIGHUP swaps in a valid config and refuses an invalid one, keeping alerts")
    func sighup() async throws {
        let directory = try makeTemporaryDirectory("sighup")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let port = freeLoopbackPort()
        let alerter = try AlerterProcess(config: Self.config(nats: nats.url, httpPort: port), directory: directory)
        defer { alerter.process.kill() }
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        #expect(try await AlerterProcess.run(["send", "--server", nats.url, "--alertname", "kept", "--source", "n1"], directory: directory).status == 0)
        try await alerter.process.waitForOutput(containing: "\"notification\"")
        let configFile = try #require(alerter.configFile)

        try (Self.config(nats: nats.url, httpPort: port) + "\nbroken: [").write(to: configFile, atomically: true, encoding: .utf8)
        alerter.process.signal(SIGHUP)
        try await alerter.process.waitForOutput(containing: "configuration reload refused")
        let changed = Self.config(nats: nats.url, httpPort: port).replacingOccurrences(of: "receivers: [{name: oncall}]", with: "receivers: [{name: oncall}, {name: extra}]")
        try changed.write(to: configFile, atomically: true, encoding: .utf8)
        alerter.process.signal(SIGHUP)
        try await alerter.process.waitForOutput(containing: "configuration reloaded")
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/api/v2/receivers")!)
        #expect(String(decoding: data, as: UTF8.self).contains("extra"))
        let (alerts, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/api/v2/alerts")!)
        #expect(String(decoding: alerts, as: UTF8.self).contains("\"kept\""))
        let (metrics, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        #expect(String(decoding: metrics, as: UTF8.self).contains("nats_alerter_config_last_reload_successful 1"))
    }

    /// CPU time (user + system) the process has used, in clock ticks.
    static func cpuTicks(_ pid: Int32) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        // Fields after "(comm)": state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

    @Test("an idle service waiting on a group flush does not spin (a cancelled timer once kept the engine loop busy)")
    func idleWhileWaiting() async throws {
        let directory = try makeTemporaryDirectory("idle")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let port = freeLoopbackPort()
        let config = Self.config(nats: nats.url, httpPort: port).replacingOccurrences(of: "group_wait: 0s", with: "group_wait: 10m")
        let alerter = try AlerterProcess(config: config, directory: directory, arguments: ["--log-level", "notice"])
        defer { alerter.process.kill() }
        let ready = await alerter.waitUntilReady(timeout: .seconds(15))
        #expect(ready)
        // Alerts whose groups wait 10 minutes to flush: the engine has a deadline, and nothing to do until then.
        for index in 0..<200 {
            try rawPublish(url: nats.url, subject: "system.disk",
                           payload: ProtobufEventEncoder.encode(AlertEvent(alertType: "disk_full", source: "n\(index)")), times: 1)
        }
        #expect(await waitUntil(timeout: .seconds(10)) { alerter.process.jsonLines.filter { $0["event"] as? String == "alert_firing" }.count == 200 })
        try await Task.sleep(for: .seconds(1))
        let before = Self.cpuTicks(alerter.process.pid)
        try await Task.sleep(for: .seconds(3))
        let used = Self.cpuTicks(alerter.process.pid) - before
        // 3 s of wall time; a spinning loop used 4 s of CPU (two cores), an idle service about none.
        #expect(used < 60, "an idle nats-alerter used \(used) ticks of CPU in 3 s")
        await alerter.process.stop()
    }

    @Test("SIGTERM during a burst: every event received is fully processed before exit")
    func sigtermDuringBurst() async throws {
        let directory = try makeTemporaryDirectory("sigterm")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let port = freeLoopbackPort()
        let alerter = try AlerterProcess(config: Self.config(nats: nats.url, httpPort: port), directory: directory, arguments: ["--log-level", "notice"])
        defer { alerter.process.kill() }
        let ready = await alerter.waitUntilReady(timeout: .seconds(15))
        #expect(ready)
        let url = nats.url
        let publisher = Task.detached {
            let connection = try NATSConnection(configuration: .init(servers: [url], name: "burst"), logger: Logger(label: "burst"))
            for index in 0..<40_000 {
                let event = AlertEvent(alertType: "burst", source: "s\(index % 4_000)", subject: "")
                try connection.publish(subject: "system.burst", payload: ProtobufEventEncoder.encode(event))
                if index % 1000 == 0 { try connection.flush() }
            }
            try connection.flush()
        }
        try await Task.sleep(for: .milliseconds(300))
        alerter.process.signal(SIGTERM)
        // Correctness, not speed: the shutdown's own bounds (drain 10 + 10 s,
        // notifiers 10 s, close 5 s) can add up under a loaded CI machine.
        #expect(try await alerter.process.waitForExit(timeout: .seconds(60)) == 0)
        _ = try? await publisher.value
        let lines = alerter.process.jsonLines
        let summary = try #require(lines.first { $0["event"] as? String == "ingest_summary" })
        let counters = try #require(summary["counters"] as? [String: Int])
        let received = try #require(counters["received"])
        #expect(received > 0)
        #expect(counters["decoded"] == received)
        #expect((counters["fired"] ?? 0) + (counters["duplicates"] ?? 0) == received)
        #expect(lines.filter { $0["event"] as? String == "alert_firing" }.count == counters["fired"])
    }
}
