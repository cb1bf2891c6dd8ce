import AlertCore
import AlertIngest
import AlertTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The shipped resource-monitoring rules end to end: samples published on a
/// real nats-server, evaluated by the built nats-alerter, notifications at a
/// webhook receiver (the python recorder), metrics on /metrics.
@Suite("RuleIntegration: samples → rules → webhook", .serialized)
struct RuleIntegrationTests {
    static let shippedRules = packageRoot.appendingPathComponent("config/rules/resource-monitoring.yaml").path

    static func config(nats: String, hook: String, httpPort: Int, durable: Bool = false) -> String {
        """
        nats:
          servers: ["\(nats)"]
          subjects: ["simulation_worker.>"]
        \(durable ? "  jetstream: {stream: EVENTS, durable: alerter}\nstate: {backend: jetstream}" : "state: {backend: memory}")
        server: {listen_address: "127.0.0.1:\(httpPort)"}
        rule_files: ["\(shippedRules)"]
        route: {receiver: hook, group_by: [alertname, source], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
        receivers:
          - name: hook
            webhook_configs: [{url: "\(hook)/hook", send_resolved: true}]
        """
    }

    /// (status, alertname, summary) of every alert in every webhook request.
    static func received(_ hook: HTTPRecorder) -> [(status: String, name: String, summary: String)] {
        hook.requests.flatMap { request -> [(String, String, String)] in
            let alerts = (request.json as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
            return alerts.map { alert in
                ((alert["status"] as? String) ?? "", ((alert["labels"] as? [String: String])?["alertname"]) ?? "",
                 ((alert["annotations"] as? [String: String])?["summary"]) ?? "")
            }
        }
    }

    static func publish(_ url: String, _ subject: String, _ values: [Double], labels: [String: String] = [:], source: String = "evo-1",
                        firstIteration: Int64 = 1) throws {
        for (offset, value) in values.enumerated() {
            let sample = MetricSample(value: value, labels: labels, iteration: firstIteration + Int64(offset), source: source)
            try rawPublish(url: url, subject: subject, payload: ProtobufSampleEncoder.encode(sample), times: 1)
        }
    }

    static func metrics(_ port: Int) async throws -> String {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        return String(decoding: data, as: UTF8.self)
    }

    @Test("diversity < 0.1 for 5 iterations notifies diversity_collapse and > 0.3 resolves it; memory at 85 % notifies high_memory and counts it; a bad sample is counted")
    func shippedRulesEndToEnd() async throws {
        let directory = try makeTemporaryDirectory("rules-e2e")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let hook = try await HTTPRecorder(directory: directory)
        defer { hook.process.kill() }
        let port = freeLoopbackPort()
        let alerter = try AlerterProcess(config: Self.config(nats: nats.url, hook: hook.url, httpPort: port), directory: directory)
        defer { alerter.process.kill() }
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")

        // 4 low iterations: nothing yet.
        try Self.publish(nats.url, "metrics.population.diversity", [0.5, 0.08, 0.07, 0.09, 0.05])
        try await Task.sleep(for: .milliseconds(500))
        #expect(Self.received(hook).isEmpty, "\(Self.received(hook))")
        // The 5th consecutive low iteration.
        try Self.publish(nats.url, "metrics.population.diversity", [0.04], firstIteration: 6)
        #expect(await waitUntil(timeout: .seconds(15)) { Self.received(hook).contains { $0.name == "diversity_collapse" } },
                "\(alerter.process.output.suffix(3000))")
        let firing = try #require(Self.received(hook).first { $0.name == "diversity_collapse" })
        #expect(firing.status == "firing")
        #expect(firing.summary == "Population diversity 0.04 below 0.1 for 5 iterations (iteration 6)")

        // 0.2 is not above the clear threshold; 0.35 is.
        try Self.publish(nats.url, "metrics.population.diversity", [0.2], firstIteration: 7)
        try await Task.sleep(for: .milliseconds(1500))
        #expect(!Self.received(hook).contains { $0.name == "diversity_collapse" && $0.status == "resolved" })
        // This one through the CLI, in the JSON form.
        let send = try await AlerterProcess.run(["send-sample", "--server", nats.url, "--subject", "metrics.population.diversity",
                                                 "--value", "0.35", "--source", "evo-1", "--iteration", "8", "--json"], directory: directory)
        #expect(send.status == 0, "\(send.output)")
        #expect(await waitUntil(timeout: .seconds(15)) { Self.received(hook).contains { $0.name == "diversity_collapse" && $0.status == "resolved" } })

        // Memory at 85 %.
        try Self.publish(nats.url, "metrics.memory.percent", [70, 85], source: "node-3")
        #expect(await waitUntil(timeout: .seconds(15)) { Self.received(hook).contains { $0.name == "high_memory" } })
        #expect(Self.received(hook).first { $0.name == "high_memory" }?.summary == "Memory at 85 % (threshold 80 %) on node-3")
        // Garbage on a sample subject.
        try rawPublish(url: nats.url, subject: "metrics.cpu.percent", payload: [0xff, 0xff, 0xff], times: 1)
        try await Task.sleep(for: .milliseconds(300))
        let text = try await Self.metrics(port)
        #expect(text.contains(#"alerts_triggered_total{alert_type="high_memory"} 1"#), "\(text)")
        #expect(text.contains(#"alert_active{alert_type="high_memory"} 1"#))
        #expect(text.contains(#"alerts_triggered_total{alert_type="diversity_collapse"} 1"#))
        #expect(text.contains(#"alert_active{alert_type="diversity_collapse"} 0"#))
        #expect(text.contains(#"nats_alerter_events_rejected_total{subject="metrics.cpu.percent",reason="invalid_protobuf"} 1"#))
        #expect(text.contains(#"nats_alerter_rule_series{rule="diversity_collapse"} 1"#))

        await alerter.process.stop()
        let names = Self.received(hook).map { "\($0.status) \($0.name)" }
        #expect(names == ["firing diversity_collapse", "resolved diversity_collapse", "firing high_memory"], "\(names)")
    }

    @Test("durable mode: a consecutive window half-filled before a restart completes after it (rule state in the KV bucket)")
    func windowSurvivesRestart() async throws {
        let directory = try makeTemporaryDirectory("rules-durable")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let hook = try await HTTPRecorder(directory: directory)
        defer { hook.process.kill() }
        let port = freeLoopbackPort()
        let config = Self.config(nats: nats.url, hook: hook.url, httpPort: port, durable: true)
        let first = try AlerterProcess(config: config, directory: directory)
        defer { first.process.kill() }
        try await first.process.waitForOutput(containing: "subscribed; waiting for events")
        try Self.publish(nats.url, "metrics.population.diversity", [0.05, 0.05, 0.05])
        try await Task.sleep(for: .milliseconds(500))
        await first.process.stop()

        let kv = try JetStreamStateStore(
            jetStream: try JetStream(connection: try await runBlocking { () throws(NATSError) in
                try NATSConnection(configuration: .init(servers: [nats.url], name: "kv-check"), logger: quietLogger)
            }), settings: .init(), logger: quietLogger)
        let stored = try await kv.load()
        let series = try #require(stored.ruleSeries.first { $0.rule == "diversity_collapse" })
        #expect(series.group == ["evo-1"] && series.lastIteration == 3 && !series.alertFiring)

        let second = try AlerterProcess(config: config, directory: directory)
        defer { second.process.kill() }
        try await second.process.waitForOutput(containing: "subscribed; waiting for events")
        #expect(second.process.output.contains("\"rule_series\":\"1\"") || second.process.output.contains("\"rule_series\":1"),
                "\(second.process.output.suffix(2000))")
        try Self.publish(nats.url, "metrics.population.diversity", [0.05], firstIteration: 4)
        try await Task.sleep(for: .milliseconds(500))
        #expect(Self.received(hook).isEmpty, "4 of 5")
        try Self.publish(nats.url, "metrics.population.diversity", [0.05], firstIteration: 5)
        #expect(await waitUntil(timeout: .seconds(15)) { Self.received(hook).contains { $0.name == "diversity_collapse" && $0.status == "firing" } },
                "\(second.process.output.suffix(3000))")
        await second.process.stop()
    }
}
