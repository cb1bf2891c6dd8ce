import AlertCore
import AlertIngest
import AlertTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The NATS control plane (README, "NATS control plane") against the built
/// binary and a real nats-server: the request-reply API answers with the
/// HTTP API's JSON, state-change events arrive on their subjects in order,
/// and `$SRV.PING` answers.
@Suite("NATS control plane: request-reply API, state-change events, $SRV discovery", .serialized)
struct ControlPlaneTests {
    static func config(nats: String, httpPort: Int, webhook: String, durable: Bool = false, eventFormat: String = "protobuf",
                       silenceWrites: Bool = true) -> String {
        """
        nats:
          servers: ["\(nats)"]
          subjects: ["system.>"]
          control: {prefix: nats_alerter, event_format: \(eventFormat), silence_writes: \(silenceWrites)}
        \(durable ? "  jetstream: {stream: EVENTS, durable: alerter}\n" : "")state:
          resolve_timeout_by_alert_type: {heartbeat: 1s}
        \(durable ? "  backend: jetstream\n  jetstream: {outbox: {ack_wait: 5s, max_deliver: 3}}" : "")
        server: {listen_address: "127.0.0.1:\(httpPort)"}
        route: {receiver: oncall, group_by: ['...'], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}
        receivers: [{name: oncall, webhook_configs: [{url: "\(webhook)/hook"}]}]
        """
    }

    /// A connection for the test: publisher, requester and event listener.
    static func connect(_ url: String) async throws -> NATSConnection {
        try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [url], name: "control-test"), logger: quietLogger)
        }
    }

    /// A connection whose collector hears every state-change event from now on.
    static func listen(_ url: String) async throws -> (client: NATSConnection, events: EventCollector, subscription: NATSSubscription) {
        let client = try await connect(url)
        let events = EventCollector()
        let subscription = try NATSSubscription(connection: client, subject: "nats_alerter.events.>", handler: events)
        try await runBlocking { () throws(NATSError) in try client.flush() }
        return (client, events, subscription)
    }

    static func request(_ connection: NATSConnection, _ subject: String, _ body: String = "") async throws -> (text: String, json: Any?) {
        let reply = try await runBlocking { () throws(NATSError) in
            try connection.request(subject: subject, payload: Array(body.utf8), timeout: .seconds(5))
        }
        let text = String(decoding: reply.payload, as: UTF8.self)
        return (text, try? JSONSerialization.jsonObject(with: Data(reply.payload), options: [.fragmentsAllowed]))
    }

    static func http(_ port: Int, _ path: String) async throws -> String {
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        return String(decoding: data, as: UTF8.self)
    }

    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    static func errorCode(_ json: Any?) -> Int? {
        ((json as? [String: Any])?["error"] as? [String: Any])?["code"] as? Int
    }

    @Test("list, get, silence, expire and resolve over request-reply: the HTTP API's JSON; events firing → silenced → unsilenced → resolved, silenced at firing, resolved by timeout; notification.sent; $SRV")
    func requestReplyAndEvents() async throws {
        let directory = try makeTemporaryDirectory("control-plane")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let webhook = try await HTTPRecorder(directory: directory)
        let port = freeLoopbackPort()
        let alerter = try AlerterProcess(config: Self.config(nats: nats.url, httpPort: port, webhook: webhook.url), directory: directory)
        defer { alerter.process.kill() }
        #expect(await alerter.waitUntilReady(timeout: .seconds(15)))

        let (client, events, subscription) = try await Self.listen(nats.url)
        defer { client.close() }

        try client.publish(subject: "system.disk", payload: ProtobufEventEncoder.encode(
            AlertEvent(alertType: "disk_full", severity: .critical, source: "node-1")))
        try await runBlocking { () throws(NATSError) in try client.flush() }
        let fingerprint = AlertEvent(alertType: "disk_full", severity: .critical, source: "node-1", subject: "system.disk").fingerprint.description
        #expect(await waitUntil { events.alert(fingerprint).contains(.firing) })
        #expect(await waitUntil { events.notifications.contains { $0.outcome == .sent && $0.fingerprints.contains(fingerprint) } })

        // Reads: the same JSON as the HTTP API for the same state.
        let listed = try await Self.request(client, "nats_alerter.api.alerts.list", "{}")
        #expect(listed.text == (try await Self.http(port, "/api/v2/alerts")))
        let filtered = try await Self.request(client, "nats_alerter.api.alerts.list", #"{"filter": ["source=\"node-1\""], "silenced": false}"#)
        #expect(filtered.text == (try await Self.http(port, "/api/v2/alerts?filter=source%3D%22node-1%22&silenced=false")))
        #expect((filtered.json as? [Any])?.count == 1)
        let one = try await Self.request(client, "nats_alerter.api.alerts.get", fingerprint)
        let fromHTTP = try #require(try JSONSerialization.jsonObject(with: Data(try await Self.http(port, "/api/v2/alerts").utf8)) as? [Any])
        #expect((one.json as? NSDictionary) == (fromHTTP.first as? NSDictionary))

        // A silence over NATS mutes it (silenced), its expiry unmutes it (unsilenced).
        let silence = #"{"matchers":[{"name":"source","value":"node-1","isRegex":false,"isEqual":true}],"startsAt":"\#(Self.iso(Date()))","endsAt":"\#(Self.iso(Date() + 3600))","createdBy":"oncall","comment":"disk swap"}"#
        let created = try await Self.request(client, "nats_alerter.api.silences.create", silence)
        let silenceID = try #require((created.json as? [String: Any])?["silenceID"] as? String)
        #expect(await waitUntil { events.alert(fingerprint).contains(.silenced) })
        let silences = try await Self.request(client, "nats_alerter.api.silences.list", "")
        #expect(silences.text == (try await Self.http(port, "/api/v2/silences")))
        let silencedOnly = try await Self.request(client, "nats_alerter.api.alerts.list", #"{"active": false}"#)
        #expect((silencedOnly.json as? [Any])?.count == 1)
        let expired = try await Self.request(client, "nats_alerter.api.silences.expire", #"{"id": "\#(silenceID)"}"#)
        #expect(Self.errorCode(expired.json) == nil, "\(expired.text)")
        #expect(await waitUntil { events.alert(fingerprint).contains(.unsilenced) })

        // Resolve by fingerprint, as a RESOLVED event would.
        let resolved = try await Self.request(client, "nats_alerter.api.alerts.resolve", #"{"fingerprint": "\#(fingerprint)"}"#)
        #expect((resolved.json as? [String: Any])?["fingerprint"] as? String == fingerprint, "\(resolved.text)")
        #expect(await waitUntil { events.alert(fingerprint).contains(.resolved) })
        #expect(events.alert(fingerprint) == [.firing, .silenced, .unsilenced, .resolved])
        #expect(try await Self.http(port, "/api/v2/alerts") == "[]")

        // Resolve by dedup_key.
        try client.publish(subject: "system.job", payload: ProtobufEventEncoder.encode(AlertEvent(alertType: "job_failed", dedupKey: "job-42")))
        try await runBlocking { () throws(NATSError) in try client.flush() }
        let jobFingerprint = AlertEvent(dedupKey: "job-42").fingerprint.description
        #expect(await waitUntil { events.alert(jobFingerprint).contains(.firing) })
        _ = try await Self.request(client, "nats_alerter.api.alerts.resolve", #"{"dedup_key": "job-42"}"#)
        #expect(await waitUntil { events.alert(jobFingerprint) == [.firing, .resolved] })

        // A new alert that a silence already mutes: firing, then silenced.
        let mute = silence.replacingOccurrences(of: "node-1", with: "node-2")
        #expect(Self.errorCode(try await Self.request(client, "nats_alerter.api.silences.create", mute).json) == nil)
        try client.publish(subject: "system.disk", payload: ProtobufEventEncoder.encode(
            AlertEvent(alertType: "disk_full", severity: .critical, source: "node-2")))
        try await runBlocking { () throws(NATSError) in try client.flush() }
        let mutedFingerprint = AlertEvent(alertType: "disk_full", severity: .critical, source: "node-2", subject: "system.disk").fingerprint.description
        #expect(await waitUntil { events.alert(mutedFingerprint) == [.firing, .silenced] })

        // An alert ended by its resolve timeout (1s for heartbeat; the scan runs every 5 s): resolved.
        try client.publish(subject: "system.heartbeat", payload: ProtobufEventEncoder.encode(AlertEvent(alertType: "heartbeat", source: "hb-1")))
        try await runBlocking { () throws(NATSError) in try client.flush() }
        let heartbeat = AlertEvent(alertType: "heartbeat", source: "hb-1", subject: "system.heartbeat").fingerprint.description
        #expect(await waitUntil(timeout: .seconds(30)) { events.alert(heartbeat) == [.firing, .resolved] }, "\(events.alert(heartbeat))")

        // Bad requests: structured errors, never silence.
        let notJSON = try await Self.request(client, "nats_alerter.api.silences.create", "{not json")
        #expect(Self.errorCode(notJSON.json) == 400, "\(notJSON.text)")
        let badFilter = try await Self.request(client, "nats_alerter.api.alerts.list", #"{"filter": ["=nope"]}"#)
        #expect(Self.errorCode(badFilter.json) == 400, "\(badFilter.text)")
        let unknown = try await Self.request(client, "nats_alerter.api.alerts.get", "0123456789abcdef")
        #expect(Self.errorCode(unknown.json) == 404, "\(unknown.text)")
        let noTarget = try await Self.request(client, "nats_alerter.api.alerts.resolve", "{}")
        #expect(Self.errorCode(noTarget.json) == 400, "\(noTarget.text)")

        // Discovery.
        let ping = try await Self.request(client, "$SRV.PING")
        #expect((ping.json as? [String: Any])?["type"] as? String == "io.nats.micro.v1.ping_response", "\(ping.text)")
        #expect((ping.json as? [String: Any])?["name"] as? String == "nats_alerter")
        let info = try await Self.request(client, "$SRV.INFO.nats_alerter")
        let endpoints = ((info.json as? [String: Any])?["endpoints"] as? [[String: Any]])?.compactMap { $0["subject"] as? String } ?? []
        #expect(endpoints.contains("nats_alerter.api.silences.create"), "\(info.text)")
        let stats = try await Self.request(client, "$SRV.STATS")
        #expect((stats.json as? [String: Any])?["type"] as? String == "io.nats.micro.v1.stats_response", "\(stats.text)")
        _ = subscription
        await alerter.process.stop()
    }

    @Test("durable mode, JSON events: a webhook answering 400 → notification.dead_lettered; silence writes over NATS are refused (403) until turned on")
    func deadLetteredNotificationEvent() async throws {
        let directory = try makeTemporaryDirectory("control-plane-durable")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let webhook = try await HTTPRecorder(directory: directory, responses: ["400"])
        let port = freeLoopbackPort()
        let alerter = try AlerterProcess(config: Self.config(nats: nats.url, httpPort: port, webhook: webhook.url, durable: true, eventFormat: "json",
                                                             silenceWrites: false),
                                         directory: directory)
        defer { alerter.process.kill() }
        #expect(await alerter.waitUntilReady(timeout: .seconds(15)))
        let (client, events, subscription) = try await Self.listen(nats.url)
        defer { client.close() }

        try client.publish(subject: "system.disk", payload: ProtobufEventEncoder.encode(AlertEvent(alertType: "disk_full", source: "node-9")))
        try await runBlocking { () throws(NATSError) in try client.flush() }
        #expect(await waitUntil(timeout: .seconds(20)) { events.json.contains { $0.subject == "nats_alerter.events.notification.dead_lettered" } })
        let firing = try #require(events.json.first { $0.subject == "nats_alerter.events.alert.firing" })
        #expect(firing.object["change"] as? String == "CHANGE_FIRING")
        #expect((firing.object["labels"] as? [String: String])?["source"] == "node-9")
        let deadLettered = try #require(events.json.first { $0.subject == "nats_alerter.events.notification.dead_lettered" })
        #expect(deadLettered.object["outcome"] as? String == "OUTCOME_DEAD_LETTERED")
        #expect(deadLettered.object["receiver"] as? String == "oncall")
        #expect((deadLettered.object["fingerprints"] as? [String]) == [firing.object["fingerprint"] as? String ?? "?"])

        // The default: anyone who may publish here must not be able to mute alerts.
        let silence = #"{"matchers":[{"name":"source","value":"node-9","isRegex":false}],"startsAt":"\#(Self.iso(Date()))","endsAt":"\#(Self.iso(Date() + 3600))","createdBy":"x","comment":"x"}"#
        let refused = try await Self.request(client, "nats_alerter.api.silences.create", silence)
        let error = (refused.json as? [String: Any])?["error"] as? [String: Any]
        #expect(error?["code"] as? Int == 403 && (error?["message"] as? String)?.contains("nats.control.silence_writes") == true, "\(refused.text)")
        #expect(try await Self.http(port, "/api/v2/silences") == "[]")
        _ = subscription
        await alerter.process.stop()
    }
}

extension ControlPlaneTests {
    /// The README's `authorization` block, with passwords filled in.
    static func readmePermissions() throws -> String {
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let after = try #require(readme.range(of: "Who may do what is the NATS server's business"))
        let open = try #require(readme.range(of: "```\n", range: after.upperBound..<readme.endIndex))
        let close = try #require(readme.range(of: "\n```", range: open.upperBound..<readme.endIndex))
        return String(readme[open.upperBound..<close.lowerBound])
            .replacingOccurrences(of: "$ALERTER_PASSWORD", with: "alerter-pw")
            .replacingOccurrences(of: "$WORKER_PASSWORD", with: "worker-pw")
            .replacingOccurrences(of: "$ONCALL_PASSWORD", with: "oncall-pw")
    }

    static func connect(_ url: String, user: String) async throws -> NATSConnection {
        try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [url], name: user, authentication: .userPassword(user: user, password: "\(user)-pw")),
                               logger: quietLogger)
        }
    }

    @Test("the README's permissions: a publisher publishes events, reads alerts and hears state changes but cannot create silences; on-call can")
    func readmePermissionsHold() async throws {
        let directory = try makeTemporaryDirectory("control-plane-permissions")
        defer { try? FileManager.default.removeItem(at: directory) }
        let serverConfig = directory.appendingPathComponent("nats-server.conf")
        try Self.readmePermissions().write(to: serverConfig, atomically: true, encoding: .utf8)
        let nats = try await NATSServer.start(in: directory, extraArguments: ["-c", serverConfig.path])
        defer { nats.kill() }
        let webhook = try await HTTPRecorder(directory: directory)
        let port = freeLoopbackPort()
        let config = Self.config(nats: nats.url, httpPort: port, webhook: webhook.url)
            .replacingOccurrences(of: "  subjects: [\"system.>\"]\n", with: "  subjects: [\"system.>\"]\n  user: alerter\n  password: alerter-pw\n")
        let alerter = try AlerterProcess(config: config, directory: directory)
        defer { alerter.process.kill() }
        #expect(await alerter.waitUntilReady(timeout: .seconds(15)), "\(alerter.process.output.suffix(2000))")

        let worker = try await Self.connect(nats.url, user: "worker")
        defer { worker.close() }
        let events = EventCollector()
        let subscription = try NATSSubscription(connection: worker, subject: "nats_alerter.events.>", handler: events)
        try await runBlocking { () throws(NATSError) in try worker.flush() }
        try worker.publish(subject: "system.disk", payload: ProtobufEventEncoder.encode(AlertEvent(alertType: "disk_full", source: "node-1")))
        try await runBlocking { () throws(NATSError) in try worker.flush() }
        let fingerprint = AlertEvent(alertType: "disk_full", source: "node-1", subject: "system.disk").fingerprint.description
        #expect(await waitUntil { events.alert(fingerprint) == [.firing] })
        let listed = try await Self.request(worker, "nats_alerter.api.alerts.list")
        #expect((listed.json as? [Any])?.count == 1, "\(listed.text)")

        let silence = #"{"matchers":[{"name":"source","value":"node-1","isRegex":false}],"startsAt":"\#(Self.iso(Date()))","endsAt":"\#(Self.iso(Date() + 3600))","createdBy":"oncall","comment":"x"}"#
        await #expect(throws: NATSError.self) {
            try await runBlocking { () throws(NATSError) in
                _ = try worker.request(subject: "nats_alerter.api.silences.create", payload: Array(silence.utf8), timeout: .seconds(2))
            }
        }
        #expect(try await Self.http(port, "/api/v2/silences") == "[]")

        let oncall = try await Self.connect(nats.url, user: "oncall")
        defer { oncall.close() }
        let created = try await Self.request(oncall, "nats_alerter.api.silences.create", silence)
        #expect((created.json as? [String: Any])?["silenceID"] is String, "\(created.text)")
        #expect(await waitUntil { events.alert(fingerprint) == [.firing, .silenced] })
        let ping = try await Self.request(oncall, "$SRV.PING.nats_alerter")
        #expect((ping.json as? [String: Any])?["type"] as? String == "io.nats.micro.v1.ping_response", "\(ping.text)")
        _ = subscription
        await alerter.process.stop()
    }
}

/// Collects state-change events as they arrive (decoded protobuf, or the JSON form).
final class EventCollector: NATSMessageHandler {
    private let alerts = LockedBox<[AlertStateEvent]>([])
    private let notificationEvents = LockedBox<[NotificationStateEvent]>([])
    private let jsonEvents = LockedBox<[(subject: String, payload: [UInt8])]>([])

    func handle(_ message: borrowing NATSMessage) {
        let bytes = [UInt8](message.payload)
        if message.header("Content-Type") == "application/json" {
            jsonEvents.set(jsonEvents.get() + [(message.subject, bytes)])
        } else if message.subject.contains(".events.alert."), let event = StateEventDecoder.alert(bytes) {
            alerts.set(alerts.get() + [event])
        } else if let event = StateEventDecoder.notification(bytes) {
            notificationEvents.set(notificationEvents.get() + [event])
        }
    }

    /// The changes of one alert, in the order they arrived.
    func alert(_ fingerprint: String) -> [AlertStateEvent.Change] {
        alerts.get().filter { $0.fingerprint == fingerprint }.map(\.change)
    }

    var notifications: [NotificationStateEvent] { notificationEvents.get() }
    var json: [(subject: String, object: [String: Any])] {
        jsonEvents.get().map { ($0.subject, (try? JSONSerialization.jsonObject(with: Data($0.payload))) as? [String: Any] ?? [:]) }
    }
}
