import AlertCore
import AlertIngest
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// What a hostile or careless publisher and a misbehaving receiver can do to
/// the built binary, with a real nats-server (durable mode, the shipped
/// default), a real Alertmanager, and local HTTP servers standing in for a
/// webhook receiver and Slack. Each case once crashed nats-alerter or
/// stopped its notifications; after each, the process must still be up and
/// an ordinary alert published afterwards must reach the receiver.
@Suite("Hostile input: no event or receiver reply crashes nats-alerter or stops its notifications", .serialized)
struct HostileInputTests {
    static func durableConfig(nats: String, httpPort: Int, hook: String, extra: String = "") -> String {
        """
        nats:
          servers: ["\(nats)"]
          subjects: ["system.>"]
          jetstream: {stream: EVENTS, durable: alerter, ack_wait: 5s}
        state: {backend: jetstream, jetstream: {outbox: {ack_wait: 5s}}}
        server: {listen_address: "127.0.0.1:\(httpPort)"}
        route: {receiver: oncall, group_by: ['...'], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
        receivers: [{name: oncall, webhook_configs: [{url: "\(hook)/hook"\(extra)}]}]
        """
    }

    /// The sources of the firing alerts a webhook recorder received.
    static func firingSources(_ hook: HTTPRecorder) -> Set<String> {
        var sources = Set<String>()
        for request in hook.requests {
            guard let payload = request.json as? [String: Any], let alerts = payload["alerts"] as? [[String: Any]] else { continue }
            for alert in alerts where alert["status"] as? String == "firing" {
                if let source = (alert["labels"] as? [String: String])?["source"] { sources.insert(source) }
            }
        }
        return sources
    }

    /// nats-server, a webhook recorder and the built binary in durable mode,
    /// started in a fresh directory; `stop()` ends all three.
    struct DurableStack {
        let directory: URL
        let nats: NATSServer
        let hook: HTTPRecorder
        let port: Int
        let alerter: AlerterProcess

        static func start(_ name: String, responses: [String] = []) async throws -> DurableStack {
            let directory = try makeTemporaryDirectory(name)
            let nats = try await NATSServer.start(in: directory)
            let hook = try await HTTPRecorder(directory: directory, responses: responses)
            let port = freeLoopbackPort()
            let alerter = try AlerterProcess(config: HostileInputTests.durableConfig(nats: nats.url, httpPort: port, hook: hook.url), directory: directory)
            try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
            return DurableStack(directory: directory, nats: nats, hook: hook, port: port, alerter: alerter)
        }

        func stop() {
            alerter.process.kill()
            hook.process.kill()
            nats.kill()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    static func connect(_ nats: NATSServer) async throws -> NATSConnection {
        try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [nats.url], name: "publisher"), logger: quietLogger)
        }
    }

    /// Publishes the events as protobuf and waits for the server to have them.
    static func publish(_ publisher: NATSConnection, _ subject: String, _ events: [AlertEvent]) async throws {
        for event in events { try publisher.publish(subject: subject, payload: ProtobufEventEncoder.encode(event)) }
        try await runBlocking { () throws(NATSError) in try publisher.flush() }
    }

    static func metric(_ port: Int, _ line: String) async -> Double? {
        guard let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        return text.split(separator: "\n").first { $0.hasPrefix(line + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test("JSON events with times at Int64's ends, in year 5000, NaN and Infinity values: accepted with the fields replaced, and notifications keep flowing")
    func poisonEvents() async throws {
        let stack = try await DurableStack.start("hostile-events")
        defer { stack.stop() }
        let (nats, hook, port, alerter) = (stack.nats, stack.hook, stack.port, stack.alerter)
        let publisher = try await Self.connect(nats)
        defer { publisher.close() }
        let hostile = [
            #"{"alertType":"x","source":"max-time","occurredAtUnixMs":"9223372036854775807"}"#,
            #"{"alertType":"x","source":"min-time","occurredAtUnixMs":"-9223372036854775807"}"#,
            #"{"alertType":"x","source":"year-5000","occurredAtUnixMs":"95617584000000"}"#,
            #"{"alertType":"x","source":"nan-value","currentValue":"NaN"}"#,
            #"{"alertType":"x","source":"inf-threshold","thresholdValue":"Infinity","currentValue":"-Infinity"}"#,
            #"{"alertType":"x","source":"future-resolve","status":"STATUS_RESOLVED","occurredAtUnixMs":"95617584000000"}"#,
        ]
        for payload in hostile {
            try publisher.publish(subject: "system.hostile", payload: Array(payload.utf8), headers: [("Content-Type", "application/json")])
        }
        try await runBlocking { () throws(NATSError) in try publisher.flush() }
        // Every hostile event is an alert (its out-of-range fields replaced), notified.
        let expected: Set<String> = ["max-time", "min-time", "year-5000", "nan-value", "inf-threshold"]
        #expect(await waitUntil(timeout: .seconds(15)) { Self.firingSources(hook).isSuperset(of: expected) },
                "webhook got \(Self.firingSources(hook))\n\(alerter.process.output.suffix(3000))")
        #expect(alerter.process.isRunning)

        // An ordinary alert afterwards reaches the webhook within seconds: nothing is stuck behind a poison item.
        try await Self.publish(publisher, "system.crash", [AlertEvent(alertType: "worker_crash", source: "after")])
        #expect(await waitUntil(timeout: .seconds(10)) { Self.firingSources(hook).contains("after") },
                "\(alerter.process.output.suffix(3000))")
        #expect(alerter.process.isRunning)

        // The replaced fields are counted and the times forwarded are the receive times, not the publisher's.
        let field = #"nats_alerter_events_adjusted_total{subject="system.>",field="occurred_at_unix_ms"}"#
        #expect(await Self.metric(port, field) == 4)
        #expect(await Self.metric(port, #"nats_alerter_events_adjusted_total{subject="system.>",field="current_value"}"#) == 2)
        for request in hook.requests {
            let alerts = ((request.json as? [String: Any])?["alerts"] as? [[String: Any]]) ?? []
            for alert in alerts {
                let startsAt = try #require(alert["startsAt"] as? String)
                #expect(startsAt.hasPrefix("20"), "startsAt \(startsAt) must be a receive time")
            }
        }
        #expect(alerter.process.output.contains("event accepted with out-of-range fields replaced"))

        // The state written for them loads back (no record was refused).
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/api/v2/alerts")!)
        let alerts = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(alerts.count == 6)
        await alerter.process.stop()
        let kv = try JetStreamStateStore(jetStream: try JetStream(connection: publisher), settings: .init(), logger: quietLogger)
        let stored = try await kv.load()
        #expect(stored.alerts.filter(\.isFiring).count == 6)
        #expect(stored.alerts.allSatisfy { $0.startsAt.timeIntervalSinceNow < 600 })
    }

    @Test("a notification too large for the server is dead-lettered; the notifications after it still go out")
    func poisonNotification() async throws {
        let directory = try makeTemporaryDirectory("hostile-outbox")
        defer { try? FileManager.default.removeItem(at: directory) }
        let serverConfig = directory.appendingPathComponent("nats.conf")
        try "max_payload: 16384\n".write(to: serverConfig, atomically: true, encoding: .utf8)
        let nats = try await NATSServer.start(in: directory, extraArguments: ["-c", serverConfig.path])
        defer { nats.kill() }
        let hook = try await HTTPRecorder(directory: directory)
        defer { hook.process.kill() }
        let port = freeLoopbackPort()
        let config = Self.durableConfig(nats: nats.url, httpPort: port, hook: hook.url)
            .replacingOccurrences(of: "group_by: ['...']", with: "group_by: [alertname]")
        let alerter = try AlerterProcess(config: config, directory: directory)
        defer { alerter.process.kill() }
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        let publisher = try await Self.connect(nats)
        defer { publisher.close() }
        // 20 alerts of 4 KB each in one group: their notification cannot be stored in the outbox.
        let summary = String(repeating: "x", count: 4_000)
        for index in 0..<20 {
            try publisher.publish(subject: "system.big", payload: ProtobufEventEncoder.encode(
                AlertEvent(alertType: "big", source: "b\(index)", summary: summary)))
        }
        try await runBlocking { () throws(NATSError) in try publisher.flush() }
        try await alerter.process.waitForOutput(containing: "notification dead-lettered", timeout: .seconds(15))
        #expect(alerter.process.output.contains("too_large"))
        // Another group afterwards is not held behind it.
        try await Self.publish(publisher, "system.small", [AlertEvent(alertType: "small", source: "after")])
        #expect(await waitUntil(timeout: .seconds(10)) { Self.firingSources(hook).contains("after") }, "\(alerter.process.output.suffix(3000))")
        let deadLettered = await Self.metric(port, #"nats_alerter_notifications_dead_lettered_total{receiver="oncall",integration="webhook",reason="too_large"}"#)
        #expect((deadLettered ?? 0) >= 1)
        #expect(alerter.process.isRunning)
    }

    @Test("a receiver answering Retry-After: inf or 1e300 does not kill the process; the notification is retried")
    func absurdRetryAfter() async throws {
        let stack = try await DurableStack.start("hostile-retry-after", responses: ["503:inf", "429:1e300", "503:nan", "503:-5"])
        defer { stack.stop() }
        let (nats, hook, port, alerter) = (stack.nats, stack.hook, stack.port, stack.alerter)
        let publisher = try await Self.connect(nats)
        defer { publisher.close() }
        try await Self.publish(publisher, "system.crash", [AlertEvent(alertType: "worker_crash", source: "w1")])
        #expect(await waitUntil(timeout: .seconds(10)) { hook.requests.count >= 1 })
        try await alerter.process.waitForOutput(containing: "notification failed; retrying", timeout: .seconds(10))
        try await Task.sleep(for: .seconds(1))
        #expect(alerter.process.isRunning, "\(alerter.process.output.suffix(3000))")
        // The wait the receiver asked for is capped by the retry policy's longest backoff (60 s).
        let retry = alerter.process.jsonLines.first { $0["message"] as? String == "notification failed; retrying" }
        let wait = (retry?["retry_in_ms"] as? String).flatMap(Int.init) ?? (retry?["retry_in_ms"] as? Int) ?? -1
        #expect((0...60_000).contains(wait), "retry_in_ms \(wait)")
        let ready = await waitUntilAsync(timeout: .seconds(5)) {
            guard let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/-/healthy")!) else { return false }
            return (response as? HTTPURLResponse)?.statusCode == 200
        }
        #expect(ready)
    }

    @Test("Alertmanager forwarding: a bad generator_url is left out and a refused alert is isolated; the other alerts stay firing in a real Alertmanager")
    func alertmanagerIsolatesBadAlerts() async throws {
        let directory = try makeTemporaryDirectory("hostile-am")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let alertmanager = try await AlertmanagerServer(directory: directory)
        defer { alertmanager.process.kill() }
        let port = freeLoopbackPort()
        let alerter = try AlerterProcess(config: """
            nats: {servers: ["\(nats.url)"], subjects: ["system.>"]}
            server: {listen_address: "127.0.0.1:\(port)"}
            route: {receiver: am, group_by: [alertname], group_wait: 0s, group_interval: 1s}
            receivers: [{name: am, alertmanager_configs: [{urls: ["\(alertmanager.baseURL.absoluteString)"], resend_interval: 2s}]}]
            """, directory: directory)
        defer { alerter.process.kill() }
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        let publisher = try await Self.connect(nats)
        defer { publisher.close() }
        let urls = ["not a url", "!channel", "javascript:alert(1)", "https://ci.example.com/job/1", "/relative/path", "http://"]
        for (index, url) in urls.enumerated() {
            try publisher.publish(subject: "system.job", payload: ProtobufEventEncoder.encode(
                AlertEvent(alertType: "job_failed", source: "job-\(index)", generatorURL: url)))
        }
        // Alertmanager (0.25) refuses an annotation name that is not a label name, for that alert alone.
        try publisher.publish(subject: "system.job", payload: ProtobufEventEncoder.encode(
            AlertEvent(alertType: "job_failed", source: "refused", annotations: ["run-book": "https://wiki.example.com"])))
        try await runBlocking { () throws(NATSError) in try publisher.flush() }
        func forwarded() async -> [[String: Any]] {
            guard let (data, _) = try? await URLSession.shared.data(from: alertmanager.baseURL.appendingPathComponent("api/v2/alerts")) else { return [] }
            return (try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
        }
        #expect(await waitUntilAsync(timeout: .seconds(15)) { await forwarded().count == urls.count },
                "\(alerter.process.output.suffix(3000))")
        // Several resend rounds later, all still firing there (none expired because one alert spoiled the batch).
        try await Task.sleep(for: .seconds(5))
        let alerts = await forwarded()
        #expect(alerts.count == urls.count)
        #expect(alerts.allSatisfy { (($0["status"] as? [String: Any])?["state"] as? String) == "active" })
        let kept = alerts.compactMap { $0["generatorURL"] as? String }.filter { !$0.isEmpty }
        #expect(kept == ["https://ci.example.com/job/1"])
        #expect(!alerts.contains { ($0["labels"] as? [String: String])?["source"] == "refused" })
        // The refused alert is found by splitting the batch, logged and counted once, and not re-posted every round.
        #expect(alerter.process.output.components(separatedBy: "Alertmanager refused one alert").count - 1 == 1,
                "\(alerter.process.output.suffix(3000))")
        #expect(await Self.metric(port, #"nats_alerter_alertmanager_alerts_rejected_total{receiver="am"}"#) == 1)
    }

    @Test("Slack: a generator_url or label cannot ping anyone or relabel a link")
    func slackInjection() async throws {
        let directory = try makeTemporaryDirectory("hostile-slack")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let slack = try await HTTPRecorder(directory: directory)
        defer { slack.process.kill() }
        let alerter = try AlerterProcess(config: """
            nats: {servers: ["\(nats.url)"], subjects: ["system.>"]}
            route: {receiver: chat, group_by: ['...'], group_wait: 0s, group_interval: 1s}
            receivers: [{name: chat, slack_configs: [{api_url: "\(slack.url)/services/T0/B0/x", channel: "#oncall"}]}]
            """, directory: directory)
        defer { alerter.process.kill() }
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        let publisher = try await Self.connect(nats)
        defer { publisher.close() }
        let hostile: [(String, String)] = [
            ("a", "!channel"), ("b", "@U024BE7LH"), ("c", "https://ok.example.com/x|click me <!here>"),
            ("d", "https://ok.example.com/run?a=1&b=2"),
        ]
        for (source, url) in hostile {
            try publisher.publish(subject: "system.job", payload: ProtobufEventEncoder.encode(
                AlertEvent(alertType: "job_failed", source: source, summary: "<!everyone> <@U1> <#C1|x>", generatorURL: url)))
        }
        try await runBlocking { () throws(NATSError) in try publisher.flush() }
        #expect(await waitUntil(timeout: .seconds(15)) { slack.requests.count >= hostile.count }, "\(alerter.process.output.suffix(2000))")
        let texts = slack.requests.map { request -> String in
            let attachments = ((request.json as? [String: Any])?["attachments"] as? [[String: Any]]) ?? []
            return attachments.compactMap { $0["text"] as? String }.joined()
        }
        let all = texts.joined(separator: "\n")
        for forbidden in ["<!channel", "<@U024BE7LH", "<!here>", "<!everyone>", "<@U1>", "<#C1", "|click me"] {
            #expect(!all.contains(forbidden), "Slack text contains \(forbidden): \(all)")
        }
        // The one safe URL is still a link, its & escaped as Slack requires.
        #expect(all.contains("<https://ok.example.com/run?a=1&amp;b=2|source>"))
    }
}
