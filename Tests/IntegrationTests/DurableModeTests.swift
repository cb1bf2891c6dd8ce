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
        state: {backend: jetstream, jetstream: {outbox: {ack_wait: 5s}}}
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
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
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

    @Test("a restart that takes the free lease at once reads the state buckets once: no standby follower, no reload after the fence")
    func restartReadsStateOnce() async throws {
        let directory = try makeTemporaryDirectory("durable-read-once")
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
        defer { publisher.close() }
        for index in 0..<30 {
            try publisher.publish(subject: "system.disk", payload: ProtobufEventEncoder.encode(
                AlertEvent(alertType: "disk_full", severity: .warning, source: "node-\(index)")))
        }
        try await runBlocking { () throws(NATSError) in try publisher.flush() }
        #expect(await waitUntil(timeout: .seconds(15)) { notified(first).count == 30 })
        // A graceful stop writes the state and releases the lease.
        await first.process.stop()

        // Every whole read of a bucket (the load, a standby's watcher, the
        // takeover's reload) creates a consumer on the bucket's stream: count
        // the JetStream API requests that do.
        let stream = "KV_nats_alerter_alerts"
        let creations = LockedBox<[String]>([])
        let observer = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [nats.url], name: "jetstream-api-observer"), logger: quietLogger)
        }
        defer { observer.close() }
        let subscription = try NATSSubscription(connection: observer, subject: "$JS.API.CONSUMER.>", handler: SubjectCollector(subjects: creations))
        try await runBlocking { () throws(NATSError) in try observer.flush() }
        func readsBucket(_ subject: String) -> Bool {
            for prefix in ["$JS.API.CONSUMER.CREATE.", "$JS.API.CONSUMER.DURABLE.CREATE."] {
                let name: String = prefix + stream
                if subject == name || subject.hasPrefix(name + ".") { return true }
            }
            return false
        }
        func alertsBucketReads() -> Int { creations.get().filter(readsBucket).count }

        let second = try AlerterProcess(config: config, directory: directory)
        defer { second.process.kill() }
        try await second.process.waitForOutput(containing: "subscribed; waiting for events")
        #expect(await second.waitUntilReady())
        let alerts = try #require(try await get("http://127.0.0.1:\(port)/api/v2/alerts") as? [[String: Any]])
        #expect(alerts.count == 30)
        // Give a late watcher or reload the time to show up in the counts.
        try await Task.sleep(for: .milliseconds(500))
        let loads = second.process.jsonLines.filter { $0["message"] as? String == "state bucket loaded" && $0["bucket"] as? String == "nats_alerter_alerts" }
        #expect(loads.count == 1, "the alerts bucket was loaded \(loads.count) times")
        #expect(alertsBucketReads() == 1, "consumers created on \(stream): \(creations.get())")
        #expect(second.process.output.contains("shared state taken over as loaded at start-up"))
        #expect(!second.process.output.contains("\"HA: shared state taken over\""))
        withExtendedLifetime(subscription) {}
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
        let ready = await alerter.waitUntilReady(timeout: .seconds(15))
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
        let hook = try await HTTPRecorder(directory: directory)
        defer { hook.process.kill() }
        let config = Self.config(nats: nats.url, httpPort: port)
            .replacingOccurrences(of: "receivers: [{name: oncall}]", with: "receivers: [{name: oncall, webhook_configs: [{url: \"\(hook.url)/hook\"}]}]")
        let alerter = try AlerterProcess(config: config, directory: directory)
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
        #expect(counts.count == 200, "decided \(counts.count) of 200 alerts")
        #expect(counts.values.allSatisfy { $0 == 1 }, "decided twice: \(counts.filter { $0.value > 1 }.keys.sorted())")
        // Counted at the receiver: each alert arrived, once.
        #expect(await waitUntil(timeout: .seconds(30)) { Self.deliveries(hook).count == 200 }, "received \(Self.deliveries(hook).count) of 200")
        try await Task.sleep(for: .seconds(1))
        #expect(Self.deliveries(hook).values.allSatisfy { $0.count == 1 }, "received twice: \(Self.deliveries(hook).filter { $0.value.count > 1 }.keys.sorted())")
        #expect(hook.requests.count == 200)
        publisher.close()
        await alerter.process.stop()
    }

    /// Per alert (by `source`), the notification ids a webhook recorder received it under, in order.
    static func deliveries(_ hook: HTTPRecorder) -> [String: [String]] {
        var result: [String: [String]] = [:]
        for request in hook.requests {
            let id = request.headers.first { $0.key.lowercased() == "x-nats-alerter-notification-id" }?.value ?? "?"
            guard let payload = request.json as? [String: Any], let alerts = payload["alerts"] as? [[String: Any]] else { continue }
            for alert in alerts where alert["status"] as? String == "firing" {
                result[(alert["labels"] as? [String: String])?["source"] ?? "?", default: []].append(id)
            }
        }
        return result
    }

    @Test("100,000 events over 1,000 alerts, nats-alerter killed with -9 at a random point and restarted: every alert notified, one decision each")
    func alerterCrash() async throws {
        let directory = try makeTemporaryDirectory("durable-kill")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let hook = try await HTTPRecorder(directory: directory)
        defer { hook.process.kill() }
        let config = """
            nats: {servers: ["\(nats.url)"], subjects: ["system.>"], jetstream: {stream: EVENTS, durable: alerter, ack_wait: 5s}}
            state: {backend: jetstream, jetstream: {outbox: {ack_wait: 3s}}}
            route: {receiver: team, group_by: ['...'], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
            receivers: [{name: team, webhook_configs: [{url: "\(hook.url)/hook"}]}]
            """
        let first = try AlerterProcess(config: config, directory: directory)
        defer { first.process.kill() }
        try await first.process.waitForOutput(containing: "subscribed; waiting for events")
        let publisher = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [nats.url], name: "publisher"), logger: quietLogger)
        }
        defer { publisher.close() }
        // Plain NATS publishes: the stream captures them (confirmed below by its count).
        for index in 0..<100_000 {
            try publisher.publish(subject: "system.crash", payload: ProtobufEventEncoder.encode(
                AlertEvent(alertType: "worker_crash", source: "w\(index % 1_000)", eventID: "evt-\(index)")))
            if index % 1_000 == 999 { try publisher.flush() }
        }
        try publisher.flush()
        let jetStream = try JetStream(connection: publisher)
        #expect(try jetStream.messageCount(stream: "EVENTS") == 100_000)
        // Kill it while notifications are flowing, at a random one of them.
        let killAt = Int.random(in: 50...900)
        #expect(await waitUntil(timeout: .seconds(60)) { hook.requests.count >= killAt || !first.process.isRunning })
        first.process.kill()
        let deliveredBeforeKill = hook.requests.count

        let second = try AlerterProcess(config: config, directory: directory)
        defer { second.process.kill() }
        let complete = await waitUntil(timeout: .seconds(90)) { Self.deliveries(hook).count == 1_000 }
        try await Task.sleep(for: .seconds(4))  // anything redelivered late would show now (outbox ack_wait is 3 s)
        let deliveries = Self.deliveries(hook)
        let secondLog = second.process.output.split(separator: "\n").filter { $0.contains("HA:") || $0.contains("\"error\"") || $0.contains("critical") }
        #expect(complete, "alerts notified: \(deliveries.count) of 1000 (killed after \(deliveredBeforeKill) notifications); the restarted process said: \(secondLog.suffix(12).joined(separator: "\n"))")
        // One decision per alert: every copy an alert was sent in carries the same notification id.
        #expect(deliveries.values.allSatisfy { Set($0).count == 1 }, "alerts notified under two decisions: \(deliveries.filter { Set($0.value).count > 1 }.keys.sorted())")
        // Exactly once, but for the window the README states: the one notification whose
        // send was in flight at the kill may arrive twice, under the same id.
        let duplicates = deliveries.values.reduce(0) { $0 + $1.count - 1 }
        #expect(duplicates <= 1, "duplicate deliveries: \(deliveries.filter { $0.value.count > 1 })")
        #expect(hook.requests.count == 1_000 + duplicates)
        print("alerterCrash: killed after \(deliveredBeforeKill) notifications (target \(killAt)); duplicates after restart: \(duplicates)")
        await second.process.stop()
    }

    @Test("receivers (a real Alertmanager and a webhook) down for 60 s while alerts fire: everything arrives after they return, in order, none twice")
    func receiverDownSixtySeconds() async throws {
        let directory = try makeTemporaryDirectory("durable-outbox")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let amPort = freeLoopbackPort(), hookPort = freeLoopbackPort()
        let config = """
            nats: {servers: ["\(nats.url)"], subjects: ["system.>"], jetstream: {stream: EVENTS, durable: alerter}}
            state: {backend: jetstream}
            route: {receiver: team, group_by: [alertname], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
            receivers:
              - name: team
                alertmanager_configs: [{urls: ["http://127.0.0.1:\(amPort)"], timeout: 2s}]
                webhook_configs: [{url: "http://127.0.0.1:\(hookPort)/hook", timeout: 2s}]
            """
        let alerter = try AlerterProcess(config: config, directory: directory)
        defer { alerter.process.kill() }
        try await alerter.process.waitForOutput(containing: "notifications go through the durable outbox")
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        func send(_ source: String, resolved: Bool = false) async throws {
            let result = try await AlerterProcess.run(["send", "--server", nats.url, "--subject", "system.disk", "--alertname", "disk_full",
                                                       "--source", source] + (resolved ? ["--resolved"] : []), directory: directory)
            #expect(result.status == 0, "\(result.output)")
        }
        // Decisions for the webhook (each integration has its own notification line).
        func decided(_ count: Int) async -> Bool {
            await waitUntil(timeout: .seconds(10)) {
                alerter.process.jsonLines.filter { $0["event"] as? String == "notification" && $0["integration"] as? String == "webhook/0" }.count >= count
            }
        }
        let downSince = Date()
        try await send("a")
        #expect(await decided(1))
        try await send("b")
        #expect(await decided(2))
        try await send("a", resolved: true)
        #expect(await decided(3))
        try await alerter.process.waitForOutput(containing: "notification failed; retrying")
        let down = Double(ProcessInfo.processInfo.environment["OUTBOX_DOWN_SECONDS"] ?? "60") ?? 60
        try await Task.sleep(for: .seconds(max(0, down - Date().timeIntervalSince(downSince))))

        let alertmanager = try await AlertmanagerServer(directory: directory, port: amPort)
        defer { alertmanager.process.kill() }
        let hook = try await HTTPRecorder(directory: directory, port: hookPort)
        defer { hook.process.kill() }
        // Each integration retries on its own backoff (capped at 60 s, jittered):
        // both are due within about a minute of the receivers' return.
        let back = Date()
        func remaining() -> Duration { .seconds(max(5, 100 - Date().timeIntervalSince(back))) }
        #expect(await waitUntil(timeout: remaining()) { hook.requests.count >= 3 }, "got \(hook.requests.count)")
        try await Task.sleep(for: .seconds(2))
        let summaries = hook.requests.compactMap { request -> String? in
            guard let payload = request.json as? [String: Any], let alerts = payload["alerts"] as? [[String: Any]] else { return nil }
            return alerts.map { "\(($0["labels"] as? [String: String])?["source"] ?? "?")=\($0["status"] as? String ?? "?")" }.sorted().joined(separator: ",")
        }
        #expect(summaries == ["a=firing", "a=firing,b=firing", "a=resolved,b=firing"],
                "\(alerter.process.output.split(separator: "\n").filter { !$0.contains("retrying") }.suffix(40).joined(separator: "\n"))")
        #expect(hook.requests.allSatisfy { $0.time - downSince.timeIntervalSince1970 >= down })
        // Alertmanager got the same story: b fires, a fired and was resolved.
        let firing = await waitUntilAsync(timeout: remaining()) {
            guard let (data, _) = try? await URLSession.shared.data(from: alertmanager.baseURL.appendingPathComponent("api/v2/alerts")),
                  let alerts = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return false }
            return alerts.compactMap { ($0["labels"] as? [String: String])?["source"] } == ["b"]
        }
        #expect(firing, "Alertmanager should hold b firing and a resolved")
        var metrics = ""
        let drained = await waitUntil(timeout: remaining()) {
            metrics = (try? String(contentsOf: URL(string: "http://127.0.0.1:\(alerter.httpPort)/metrics")!, encoding: .utf8)) ?? ""
            return metrics.contains("nats_alerter_outbox_pending 0")
        }
        #expect(drained, "the outbox still holds notifications")
        #expect(!metrics.contains("nats_alerter_notifications_dead_lettered_total{"))
        await alerter.process.stop()
    }

    @Test("a notification the receiver refuses for good (HTTP 400) is dead-lettered with its reason, counted, and the next one still goes out")
    func notificationDeadLettered() async throws {
        let directory = try makeTemporaryDirectory("durable-outbox-dead")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let hook = try await HTTPRecorder(directory: directory, responses: ["400"])
        defer { hook.process.kill() }
        let port = freeLoopbackPort()
        let config = Self.config(nats: nats.url, httpPort: port, deadLetter: true)
            .replacingOccurrences(of: "receivers: [{name: oncall}]", with: "receivers: [{name: oncall, webhook_configs: [{url: \"\(hook.url)/hook\"}]}]")
        let listener = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [nats.url], name: "dead-letter-listener"), logger: quietLogger)
        }
        defer { listener.close() }
        let reasons = LockedBox<[String: Int]>([:])
        let subscription = try NATSSubscription(connection: listener, subject: "dead.letters",
                                                handler: DeadLetterCollector(reasons: reasons, header: "Nats-Alerter-Notify-Reason"))
        try await runBlocking { () throws(NATSError) in try listener.flush() }
        let alerter = try AlerterProcess(config: config, directory: directory)
        defer { alerter.process.kill() }
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        for source in ["refused", "accepted"] {
            try listener.publish(subject: "system.disk", payload: ProtobufEventEncoder.encode(AlertEvent(alertType: "disk_full", source: source)))
            try await runBlocking { () throws(NATSError) in try listener.flush() }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(await waitUntil(timeout: .seconds(20)) { reasons.get().values.reduce(0, +) == 1 && hook.requests.count == 2 })
        #expect(reasons.get().keys.first?.isEmpty == false && reasons.get()["(none)"] == nil, "reasons: \(reasons.get())")
        #expect(hook.requests.map(\.answer).first?.hasPrefix("400") == true)
        #expect(Self.deliveries(hook)["accepted"]?.count == 1)
        try await alerter.process.waitForOutput(containing: "notification dead-lettered")
        let counted = await waitUntil(timeout: .seconds(10)) {
            ((try? String(contentsOf: URL(string: "http://127.0.0.1:\(port)/metrics")!, encoding: .utf8)) ?? "")
                .contains(#"nats_alerter_notifications_dead_lettered_total{receiver="oncall",integration="webhook",reason=""#)
        }
        #expect(counted)
        withExtendedLifetime(subscription) {}
        await alerter.process.stop()
    }

    func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}

/// Counts dead letters by their reason header.
/// Collects the subjects of the messages it receives.
final class SubjectCollector: NATSMessageHandler {
    let subjects: LockedBox<[String]>
    init(subjects: LockedBox<[String]>) { self.subjects = subjects }
    func handle(_ message: borrowing NATSMessage) {
        var all = subjects.get()
        all.append(message.subject)
        subjects.set(all)
    }
}

final class DeadLetterCollector: NATSMessageHandler {
    let reasons: LockedBox<[String: Int]>
    let header: String
    init(reasons: LockedBox<[String: Int]>, header: String = "Nats-Alerter-Reject-Reason") {
        self.reasons = reasons
        self.header = header
    }
    func handle(_ message: borrowing NATSMessage) {
        let reason = message.header(header) ?? "(none)"
        var counts = reasons.get()
        counts[reason, default: 0] += 1
        reasons.set(counts)
    }
}
