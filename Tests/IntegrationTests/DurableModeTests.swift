import AlertCore
import AlertIngest
import CNats
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Testing

/// Durable mode on a real nats-server with JetStream, with the built binary.
@Suite("Durable mode: JetStream ingest and KV state", .serialized)
struct DurableModeTests {
    static func config(nats: String, httpPort: Int, deadLetter: Bool = false) -> String {
        """
        nats:
          servers: ["\(nats)"]
          subjects: ["system.>"]
          jetstream: {stream: EVENTS, durable: alerter\(deadLetter ? ", dead_letter_subject: dead.letters" : "")}
        state: {backend: jetstream}
        server: {listen_address: "127.0.0.1:\(httpPort)"}
        route: {receiver: oncall, group_by: ['...'], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
        receivers: [{name: oncall}]
        """
    }

    func get(_ url: String) async throws -> Any? {
        let (data, _) = try await URLSession.shared.data(from: URL(string: url)!)
        return try? JSONSerialization.jsonObject(with: data)
    }

    func notified(_ alerter: AlerterProcess) -> [String] {
        alerter.process.jsonLines.filter { $0["event"] as? String == "notification" }.flatMap { line in
            ((line["firing"] as? [[String: Any]]) ?? []).compactMap { ($0["labels"] as? [String: String])?["source"] }
        }
    }

    @Test("restart with 50 active alerts and 3 silences: same alerts and start times, silences still mute, nothing re-notified early")
    func restartKeepsState() async throws {
        let directory = try makeTemporaryDirectory("durable-restart")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let port = freeLoopbackPort()
        let config = Self.config(nats: nats.url, httpPort: port)
        let first = try AlerterProcess(config: config, directory: directory)
        defer { first.process.kill() }
        try await first.process.waitForOutput(containing: "subscribed; waiting for events")
        let publisher = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [nats.url], name: "publisher"), logger: quietLogger)
        }
        for index in 0..<50 {
            try publisher.publish(subject: "system.disk", payload: ProtobufEventEncoder.encode(
                AlertEvent(alertType: "disk_full", severity: .warning, source: "node-\(index)")))
        }
        try await runBlocking { () throws(NATSError) in try publisher.flush() }
        #expect(await waitUntil(timeout: .seconds(15)) { notified(first).count == 50 })
        for silenced in ["muted-1", "muted-2", "muted-3"] {
            let body = #"{"matchers":[{"name":"source","value":"\#(silenced)","isRegex":false,"isEqual":true}],"startsAt":"\#(iso(Date()))","endsAt":"\#(iso(Date() + 3600))","createdBy":"oncall","comment":"maintenance"}"#
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/v2/silences")!)
            request.httpMethod = "POST"
            request.httpBody = Data(body.utf8)
            let (_, response) = try await URLSession.shared.data(for: request)
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
        }
        let before = try #require(try await get("http://127.0.0.1:\(port)/api/v2/alerts") as? [[String: Any]])
        #expect(before.count == 50)
        for _ in 0..<3 {
            try publisher.publish(subject: "system.disk", payload: ProtobufEventEncoder.encode(
                AlertEvent(alertType: "disk_full", severity: .warning, source: "node-0")))
        }
        try await runBlocking { () throws(NATSError) in try publisher.flush() }
        try await Task.sleep(for: .milliseconds(300))
        await first.process.stop()
        // Repeat counts and lastSeen reach KV at shutdown (and every 30 s).
        let kv = try JetStreamStateStore(jetStream: try JetStream(connection: publisher), settings: .init(), logger: quietLogger)
        let stored = try await kv.load()
        #expect(stored.alerts.count == 50)
        #expect(stored.alerts.first { $0.labels["source"] == "node-0" }?.repeatCount == 3)

        let second = try AlerterProcess(config: config, directory: directory)
        defer { second.process.kill() }
        try await second.process.waitForOutput(containing: "subscribed; waiting for events")
        try await second.process.waitForOutput(containing: "\"state loaded\"")
        let after = try #require(try await get("http://127.0.0.1:\(port)/api/v2/alerts") as? [[String: Any]])
        func startTimes(_ alerts: [[String: Any]]) -> [String: String] {
            Dictionary(uniqueKeysWithValues: alerts.map { ($0["fingerprint"] as? String ?? "", $0["startsAt"] as? String ?? "") })
        }
        #expect(startTimes(after) == startTimes(before))
        let silences = try #require(try await get("http://127.0.0.1:\(port)/api/v2/silences") as? [[String: Any]])
        #expect(silences.count == 3)
        // A silenced source fires after the restart: muted. A repeat of a notified alert: not re-notified.
        for source in ["muted-2", "node-7", "fresh"] {
            try publisher.publish(subject: "system.disk", payload: ProtobufEventEncoder.encode(
                AlertEvent(alertType: "disk_full", severity: .warning, source: source)))
        }
        try await runBlocking { () throws(NATSError) in try publisher.flush() }
        #expect(await waitUntil(timeout: .seconds(10)) { notified(second).contains("fresh") })
        try await Task.sleep(for: .seconds(2))
        #expect(notified(second) == ["fresh"], "re-notified after restart: \(notified(second))")
        publisher.close()
        await second.process.stop()
    }

    @Test("10,000 garbage payloads in the stream: each terminated and dead-lettered with its reason; valid events all processed")
    func garbageDeadLettered() async throws {
        let directory = try makeTemporaryDirectory("durable-garbage")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let port = freeLoopbackPort()
        let alerter = try AlerterProcess(config: Self.config(nats: nats.url, httpPort: port, deadLetter: true), directory: directory,
                                         arguments: ["--log-level", "notice"])
        defer { alerter.process.kill() }
        let ready = await waitUntilAsync(timeout: .seconds(15)) {
            guard let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/-/ready")!) else { return false }
            return (response as? HTTPURLResponse)?.statusCode == 200
        }
        #expect(ready)

        // Count what reaches the dead-letter subject, with its reason header.
        let reasons = LockedBox<[String: Int]>([:])
        let listener = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [nats.url], name: "dead-letter-listener"), logger: quietLogger)
        }
        let collector = DeadLetterCollector(reasons: reasons)
        let subscription = try NATSSubscription(connection: listener, subject: "dead.letters", handler: collector)
        try await runBlocking { () throws(NATSError) in try listener.flush() }

        let publisher = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [nats.url], name: "publisher"), logger: quietLogger)
        }
        var valid = 0
        for index in 0..<10_000 {
            try publisher.publish(subject: "system.garbage", payload: index % 2 == 0 ? [0x10, 0x63] : Array("not protobuf \(index)".utf8))
            if index % 100 == 0 {
                try publisher.publish(subject: "system.valid", payload: ProtobufEventEncoder.encode(AlertEvent(alertType: "ok", source: "s\(valid)")))
                valid += 1
            }
            if index % 1000 == 0 { try publisher.flush() }
        }
        try publisher.flush()
        let total = await waitUntil(timeout: .seconds(60)) { reasons.get().values.reduce(0, +) >= 10_000 }
        #expect(total, "dead letters: \(reasons.get())")
        #expect(reasons.get()["unknown_enum_value"] == 5_000)
        #expect(reasons.get().values.reduce(0, +) == 10_000)
        #expect(await waitUntil(timeout: .seconds(20)) {
            (try? String(contentsOf: URL(string: "http://127.0.0.1:\(port)/metrics")!, encoding: .utf8))?
                .contains(#"nats_alerter_events_decoded_total{subject="system.>"} \#(valid)"#) == true
        })
        let alerts = try #require(try await get("http://127.0.0.1:\(port)/api/v2/alerts") as? [Any])
        #expect(alerts.count == valid)
        withExtendedLifetime(subscription) {}
        publisher.close()
        listener.close()
    }

    @Test("nats-server killed with -9 mid-stream and restarted after 3 s: nothing lost, nothing notified twice, the service reconnects")
    func natsServerCrash() async throws {
        let directory = try makeTemporaryDirectory("durable-crash")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let port = freeLoopbackPort()
        let alerter = try AlerterProcess(config: Self.config(nats: nats.url, httpPort: port), directory: directory)
        defer { alerter.process.kill() }
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        let publisher = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [nats.url], name: "publisher", reconnectWait: .milliseconds(100)), logger: quietLogger)
        }
        let jetStream = try JetStream(connection: publisher)
        // Published with JetStream acks, so "published" means the stream has it.
        func publish(_ range: Range<Int>) throws {
            for index in range {
                try jetStream.publish(subject: "system.crash", payload: ProtobufEventEncoder.encode(
                    AlertEvent(alertType: "worker_crash", source: "w\(index % 200)")), messageID: "evt-\(index)")
            }
        }
        try publish(0..<2_000)
        nats.kill()
        try await alerter.process.waitForOutput(containing: "disconnected from NATS; reconnecting")
        try await Task.sleep(for: .seconds(3))
        try await nats.start()
        try await alerter.process.waitForOutput(containing: "reconnected to NATS", timeout: .seconds(20))
        #expect(await waitUntil(timeout: .seconds(20)) { publisher.state == .connected })
        try publish(2_000..<4_000)
        let all = await waitUntilAsync(timeout: .seconds(30)) {
            ((try? await get("http://127.0.0.1:\(port)/api/v2/alerts")) as? [Any])?.count == 200
        }
        #expect(all, "every distinct alert should be active")
        try await Task.sleep(for: .seconds(2))
        let counts = Dictionary(notified(alerter).map { ($0, 1) }, uniquingKeysWith: +)
        #expect(counts.count == 200, "notified \(counts.count) of 200 alerts")
        #expect(counts.values.allSatisfy { $0 == 1 }, "notified twice: \(counts.filter { $0.value > 1 }.keys.sorted())")
        publisher.close()
        await alerter.process.stop()
    }

    func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}

/// Counts dead letters by their reason header.
final class DeadLetterCollector: NATSMessageHandler {
    let reasons: LockedBox<[String: Int]>
    init(reasons: LockedBox<[String: Int]>) { self.reasons = reasons }
    func handle(_ message: borrowing NATSMessage) {
        let reason = message.header("Nats-Alerter-Reject-Reason") ?? "(none)"
        var counts = reasons.get()
        counts[reason, default: 0] += 1
        reasons.set(counts)
    }
}
