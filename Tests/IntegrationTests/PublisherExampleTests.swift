import AlertCore
import AlertIngest
import AlertTestSupport
import Foundation
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The publisher examples (examples/publishers/{go,python}) run against a real
/// nats-server and nats-alerter: everything a service author copies from them
/// must arrive intact.
@Suite("Publisher examples: Go and Python against a real nats-server and nats-alerter", .serialized)
struct PublisherExampleTests {
    enum Language: String, CaseIterable, CustomStringConvertible, Sendable {
        case go, python
        var description: String { rawValue }
    }

    static let examples = packageRoot.appendingPathComponent("examples/publishers")

    /// The command that runs the example, built or prepared first.
    static func publisher(_ language: Language, directory: URL) async throws -> (executable: String, prefix: [String]) {
        switch language {
        case .go:
            let binary = directory.appendingPathComponent("publish-go").path
            let build = try ChildProcess(name: "go-build", executable: "/bin/bash",
                                         arguments: [examples.appendingPathComponent("go/build.sh").path, binary], directory: directory)
            let status = try await build.waitForExit(timeout: .seconds(240))
            guard status == 0 else { throw HarnessError("the Go example does not build (golang-go, golang-github-nats-io-go-nats-dev, golang-google-protobuf-dev):\n\(build.output)") }
            return (binary, [])
        case .python:
            let venv = try ChildProcess(name: "make-venv", executable: "/bin/bash",
                                        arguments: [examples.appendingPathComponent("python/make-venv.sh").path], directory: directory)
            let status = try await venv.waitForExit(timeout: .seconds(240))
            guard status == 0 else { throw HarnessError("the Python example's venv could not be made (python3-venv, PyPI nats-py and protobuf):\n\(venv.output)") }
            return (examples.appendingPathComponent("python/.venv/bin/python").path, [examples.appendingPathComponent("python/publish.py").path])
        }
    }

    static func config(nats: String, httpPort: Int) -> String {
        """
        nats:
          servers: ["\(nats)"]
          subjects: ["simulation_worker.>"]
          jetstream: {stream: EVENTS, durable: alerter, duplicate_window: 2m}
        state: {backend: jetstream}
        server: {listen_address: "127.0.0.1:\(httpPort)"}
        route: {receiver: oncall, group_by: ['...'], group_wait: 0s, group_interval: 1s}
        receivers: [{name: oncall}]
        rule_files: ["\(packageRoot.appendingPathComponent("config/rules/resource-monitoring.yaml").path)"]
        """
    }

    static func firingAlerts(port: Int) async throws -> [[String: Any]] {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/api/v2/alerts")!)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
    }

    @Test("publishes an AlertEvent with every field, its RESOLVED event and a MetricSample; all arrive intact", arguments: Language.allCases)
    func publishesEveryField(language: Language) async throws {
        let directory = try makeTemporaryDirectory("publisher-\(language)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (executable, prefix) = try await Self.publisher(language, directory: directory)
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let port = freeLoopbackPort()
        let alerter = try AlerterProcess(config: Self.config(nats: nats.url, httpPort: port), directory: directory)
        defer { alerter.process.kill() }
        let ready = await alerter.waitUntilReady(timeout: .seconds(20))
        #expect(ready, "nats-alerter not ready:\n\(alerter.process.output.suffix(2000))")

        // A plain subscriber sees exactly what the example put on the wire.
        let listener = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [nats.url], name: "wire-listener"), logger: quietLogger)
        }
        defer { listener.close() }
        let recorder = WireRecorder()
        let alertSubscription = try NATSSubscription(connection: listener, subject: "simulation_worker.>", handler: recorder)
        let sampleSubscription = try NATSSubscription(connection: listener, subject: "metrics.>", handler: recorder)
        defer { try? alertSubscription.drain(timeout: .seconds(2)); try? sampleSubscription.drain(timeout: .seconds(2)) }
        try await runBlocking { () throws(NATSError) in try listener.flush() }

        let source = "worker-\(language)"
        func publish(_ what: String) async throws -> String {
            let run = try ChildProcess(name: "publish-\(language)-\(what)", executable: executable,
                                       arguments: prefix + ["--server", nats.url, "--source", source, what], directory: directory)
            let status = try await run.waitForExit(timeout: .seconds(30))
            #expect(status == 0, "\(language) publisher, \(what):\n\(run.output)")
            return run.output
        }

        // FIRING, with every field set.
        #expect(try await publish("firing").contains("published firing on simulation_worker.process_crash"))
        #expect(await waitUntilAsync(timeout: .seconds(15)) { ((try? await Self.firingAlerts(port: port)) ?? []).count == 1 },
                "no alert in /api/v2/alerts:\n\(alerter.process.output.suffix(3000))")
        #expect(await waitUntil(timeout: .seconds(5)) { recorder.messages.count == 1 })
        let wire = try #require(recorder.messages.first)
        let sent = try protocDecode(wire.payload, message: "alerting.v1.AlertEvent")
        let eventID = try #require(sent.scalars["event_id"], "\(sent)")
        #expect(UUID(uuidString: eventID) != nil, "event_id is not a UUID: \(eventID)")
        #expect(wire.msgID == eventID, "Nats-Msg-Id \(wire.msgID ?? "(none)") is not the event_id \(eventID)")
        #expect(wire.subject == "simulation_worker.process_crash")
        let occurredMs = try #require(sent.scalars["occurred_at_unix_ms"].flatMap(Int64.init), "\(sent)")
        #expect(abs(Date().timeIntervalSince1970 * 1000 - Double(occurredMs)) < 60_000, "occurred_at_unix_ms \(occurredMs) is not now")
        #expect(sent.scalars["status"] == nil, "a FIRING event carries status 0 (omitted on the wire)")

        let alert = try #require(try await Self.firingAlerts(port: port).first)
        #expect(alert["labels"] as? [String: String] == [
            "alertname": "process_crash", "severity": "critical", "source": source,
            "subject": "simulation_worker.process_crash", "cluster": "train-a", "environment": "3",
        ])
        #expect(alert["annotations"] as? [String: String] == [
            "summary": "Worker crashed 3 times in 10 minutes",
            "description": "The simulation worker exited with SIGSEGV while stepping environment 3; the supervisor restarted it.",
            "runbook_url": "https://runbooks.example/process_crash",
            "last_signal": "SIGSEGV",
        ])
        #expect(alert["generatorURL"] as? String == "https://grafana.example/d/workers?var-source=\(source)")
        // dedup_key is the identity: the fingerprint of {__dedup_key__="<key>"}.
        #expect(alert["fingerprint"] as? String == LabelSet([("__dedup_key__", "\(source)/process_crash")]).fingerprint.description)
        // occurred_at_unix_ms is the alert's start.
        let startsAt = try #require(alert["startsAt"] as? String)
        #expect(unixMilliseconds(startsAt) == occurredMs, "startsAt \(startsAt) vs occurred_at_unix_ms \(occurredMs)")
        // The values the API has no field for are in the "alert firing" line.
        let firing = try #require(alerter.process.jsonLines.first { $0["event"] as? String == "alert_firing" })
        #expect(firing["current_value"] as? Double == 3)
        #expect(firing["threshold_value"] as? Double == 1)
        #expect(firing["iteration"] as? Int == 120_000)

        // RESOLVED, same identity: the alert ends.
        #expect(try await publish("resolved").contains("published resolved"))
        #expect(await waitUntilAsync(timeout: .seconds(15)) { (try? await Self.firingAlerts(port: port))?.isEmpty == true },
                "the RESOLVED event did not end the alert:\n\(alerter.process.output.suffix(3000))")
        try await alerter.process.waitForOutput(containing: "\"alert_resolved\"")
        #expect(await waitUntil(timeout: .seconds(5)) { recorder.messages.count == 2 })
        let resolvedWire = try #require(recorder.messages.dropFirst().first)
        let resolved = try protocDecode(resolvedWire.payload, message: "alerting.v1.AlertEvent")
        #expect(resolved.scalars["status"] == "STATUS_RESOLVED")
        #expect(resolved.scalars["dedup_key"] == "\(source)/process_crash")
        #expect(resolvedWire.msgID == resolved.scalars["event_id"] && resolvedWire.msgID != eventID, "a new event has a new event_id")

        // MetricSample: the encoding on the wire, checked with protoc, and
        // its effect: the shipped rules raise high_memory for 91.5 % > 80.
        #expect(try await publish("sample").contains("published sample on metrics.memory.percent"))
        #expect(await waitUntil(timeout: .seconds(5)) { recorder.messages.count == 3 })
        let sampleWire = try #require(recorder.messages.last)
        #expect(sampleWire.subject == "metrics.memory.percent")
        #expect(sampleWire.msgID.flatMap { UUID(uuidString: $0) } != nil, "Nats-Msg-Id: \(sampleWire.msgID ?? "(none)")")
        let sample = try protocDecode(sampleWire.payload, message: "alerting.v1.MetricSample")
        #expect(sample.scalars["name"] == "memory_percent", "\(sample)")
        #expect(sample.scalars["value"] == "91.5")
        #expect(sample.scalars["iteration"] == "120000")
        #expect(sample.scalars["source"] == source)
        #expect(sample.maps["labels"] == ["worker": "7"])
        let sampleMs = try #require(sample.scalars["occurred_at_unix_ms"].flatMap(Int64.init))
        #expect(abs(Date().timeIntervalSince1970 * 1000 - Double(sampleMs)) < 60_000)
        let raised = await waitUntilAsync(timeout: .seconds(10)) {
            ((try? await Self.firingAlerts(port: port)) ?? []).contains { alert in
                (alert["labels"] as? [String: String])?["alertname"] == "high_memory"
                    && (alert["labels"] as? [String: String])?["source"] == source
            }
        }
        #expect(raised, "high_memory not raised:\n\(alerter.process.output.suffix(2000))")
    }

    @Test("follow: publishes the FIRING event and prints what became of it, from firing to the webhook's notification.sent", arguments: Language.allCases)
    func followsItsEvent(language: Language) async throws {
        let directory = try makeTemporaryDirectory("publisher-follow-\(language)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (executable, prefix) = try await Self.publisher(language, directory: directory)
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let webhook = try await HTTPRecorder(directory: directory)
        let port = freeLoopbackPort()
        let alerter = try AlerterProcess(config: """
            nats:
              servers: ["\(nats.url)"]
              subjects: ["simulation_worker.>"]
            server: {listen_address: "127.0.0.1:\(port)"}
            route: {receiver: oncall, group_by: ['...'], group_wait: 0s, group_interval: 1s}
            receivers: [{name: oncall, webhook_configs: [{url: "\(webhook.url)/hook"}]}]
            """, directory: directory)
        defer { alerter.process.kill() }
        let ready = await alerter.waitUntilReady(timeout: .seconds(20))
        #expect(ready, "nats-alerter not ready:\n\(alerter.process.output.suffix(2000))")

        let source = "follower-\(language)"
        let run = try ChildProcess(name: "follow-\(language)", executable: executable,
                                   arguments: prefix + ["--server", nats.url, "--source", source, "follow"], directory: directory)
        let status = try await run.waitForExit(timeout: .seconds(60))
        #expect(status == 0, "\(language) follow:\n\(run.output)")
        let fingerprint = LabelSet([("__dedup_key__", "\(source)/process_crash")]).fingerprint.description
        let lines = run.output.split(separator: "\n").map(String.init)
        let firing = lines.firstIndex { $0 == "alert.firing \(fingerprint)" }
        let sent = lines.firstIndex { $0.hasPrefix("notification.sent oncall webhook/0 attempts=1") }
        #expect(firing != nil && sent != nil && firing! < sent!, "\(language) follow printed:\n\(run.output)")
        #expect(webhook.requests.count == 1)
    }

    @Test("each example reports a server that does not answer in one line and exits 1", arguments: Language.allCases)
    func unreachableServer(language: Language) async throws {
        let directory = try makeTemporaryDirectory("publisher-down-\(language)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (executable, prefix) = try await Self.publisher(language, directory: directory)
        let run = try ChildProcess(name: "publish-\(language)", executable: executable,
                                   arguments: prefix + ["--server", "nats://127.0.0.1:\(freeLoopbackPort())", "firing"], directory: directory)
        let status = try await run.waitForExit(timeout: .seconds(30))
        #expect(status == 1)
        #expect(run.output.contains("publish:") && !run.output.contains("Traceback"), "\(run.output)")
    }
}

/// "2026-11-22T05:38:56.419Z" as milliseconds since the epoch, exactly (no
/// floating-point round trip).
func unixMilliseconds(_ text: String) -> Int64? {
    let parts = text.dropLast().split(separator: ".")
    guard text.hasSuffix("Z"), parts.count == 2, parts[1].count == 3, let fraction = Int64(parts[1]),
          let seconds = ISO8601DateFormatter().date(from: parts[0] + "Z") else { return nil }
    return Int64(seconds.timeIntervalSince1970) * 1000 + fraction
}

struct CapturedMessage: Sendable {
    let subject: String
    let msgID: String?
    let payload: [UInt8]
}

/// Records every message with its Nats-Msg-Id header. `handle` runs on the
/// libnats delivery thread of each subscription, possibly two at once.
final class WireRecorder: NATSMessageHandler {
    private let captured = Mutex<[CapturedMessage]>([])
    var messages: [CapturedMessage] { captured.withLock { $0 } }
    func handle(_ message: borrowing NATSMessage) {
        let record = CapturedMessage(subject: message.subject, msgID: message.header("Nats-Msg-Id"), payload: [UInt8](message.payload))
        captured.withLock { $0.append(record) }
    }
}
