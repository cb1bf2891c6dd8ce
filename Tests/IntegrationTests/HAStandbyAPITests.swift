import AlertCore
import AlertIngest
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// A standby's face (docs/ARCHITECTURE.md, High availability): it serves the
/// owner's alerts, groups and silences from the shared state, passes silence
/// writes to the owner through KV, says who is active, and leaves a resolve
/// over NATS to the owner. One nats-server; the fault tests with a 3-node
/// cluster are in HighAvailabilityTests.
@Suite("HA standby: the API from the shared state, silence writes through KV, status and metrics", .serialized)
struct HAStandbyAPITests {
    static func config(nats: String, port: Int, instance: String) -> String {
        """
        nats:
          servers: ["\(nats)"]
          subjects: ["system.>"]
          jetstream: {stream: EVENTS, durable: alerter}
        state: {backend: jetstream}
        ha: {instance: \(instance)}
        server: {listen_address: "127.0.0.1:\(port)"}
        route: {receiver: oncall, group_by: [alertname], group_wait: 1h, group_interval: 1h, repeat_interval: 4h}
        receivers: [{name: oncall}]
        """
    }

    static func json(_ port: Int, _ path: String) async -> Any? {
        guard let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!) else { return nil }
        return try? JSONSerialization.jsonObject(with: data)
    }

    static func text(_ port: Int, _ path: String) async -> String {
        guard let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }

    @Test("two instances: the standby shows the owner's alerts and groups, its silence reaches the owner, status and metrics name the owner, a NATS resolve is answered by the owner")
    func standbyServesTheAPI() async throws {
        let directory = try makeTemporaryDirectory("ha-standby")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let (portA, portB) = (freeLoopbackPort(), freeLoopbackPort())
        let owner = try AlerterProcess(config: Self.config(nats: nats.url, port: portA, instance: "alpha"), directory: directory)
        defer { owner.process.kill() }
        try await owner.process.waitForOutput(containing: "subscribed; waiting for events")
        let standby = try AlerterProcess(config: Self.config(nats: nats.url, port: portB, instance: "beta"), directory: directory)
        defer { standby.process.kill() }
        try await standby.process.waitForOutput(containing: "HA: standby")
        #expect(await standby.waitUntilReady(timeout: .seconds(10)), "a standby is ready once the owner is known")

        let status = await Self.json(portB, "/api/v2/status") as? [String: Any]
        let cluster = status?["cluster"] as? [String: Any]
        #expect(cluster?["name"] as? String == "beta")
        #expect(cluster?["active"] as? String == "alpha")
        #expect(cluster?["status"] as? String == "ready")
        let peers = (cluster?["peers"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
        #expect(Set(peers) == ["alpha", "beta"], "\(peers)")
        #expect(await Self.text(portA, "/metrics").contains("nats_alerter_ha_active{partition=\"0\"} 1"))
        #expect(await Self.text(portB, "/metrics").contains("nats_alerter_ha_active{partition=\"0\"} 0"))

        // Alerts and groups, as the owner has them.
        let publisher = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [nats.url], name: "publisher"), logger: quietLogger)
        }
        defer { publisher.close() }
        for index in 0..<5 {
            try publisher.publish(subject: "system.disk", payload: ProtobufEventEncoder.encode(
                AlertEvent(alertType: "disk_full_\(index % 2)", severity: .warning, source: "node-\(index)")))
        }
        try await runBlocking { () throws(NATSError) in try publisher.flush() }
        #expect(await waitUntilAsync(timeout: .seconds(10)) { (await Self.json(portB, "/api/v2/alerts") as? [Any])?.count == 5 },
                "the standby shows the owner's 5 alerts")
        #expect(await waitUntilAsync(timeout: .seconds(10)) { (await Self.json(portB, "/api/v2/alerts/groups") as? [Any])?.count == 2 },
                "and its 2 groups")

        // A silence posted to the standby reaches the owner.
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(portB)/api/v2/silences")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let ends = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
        request.httpBody = Data("""
            {"matchers": [{"name": "alertname", "value": "disk_full_0", "isRegex": false}], "startsAt": "\(ISO8601DateFormatter().string(from: Date()))",
             "endsAt": "\(ends)", "createdBy": "test", "comment": "through the standby"}
            """.utf8)
        let (body, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(String(decoding: body, as: UTF8.self))")
        let id = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["silenceID"] as? String
        #expect(id != nil)
        #expect(await waitUntilAsync(timeout: .seconds(5)) {
            ((await Self.json(portA, "/api/v2/silences") as? [[String: Any]]) ?? []).contains { $0["id"] as? String == id }
        }, "the owner has the silence written through the standby")
        // …and mutes with it: the owner's alerts of disk_full_0 show as suppressed.
        #expect(await waitUntilAsync(timeout: .seconds(5)) {
            let alerts = (await Self.json(portA, "/api/v2/alerts?filter=alertname%3D%22disk_full_0%22") as? [[String: Any]]) ?? []
            return !alerts.isEmpty && alerts.allSatisfy { ($0["status"] as? [String: Any])?["state"] as? String == "suppressed" }
        })

        // A resolve over NATS is the owner's: the answer comes from it.
        let fingerprint = AlertEvent(alertType: "disk_full_1", severity: .warning, source: "node-1", subject: "system.disk").fingerprint.description
        let reply = try await runBlocking { () throws(NATSError) in
            try publisher.request(subject: "nats_alerter.api.alerts.resolve", payload: Array("{\"fingerprint\": \"\(fingerprint)\"}".utf8),
                                  timeout: .seconds(5))
        }
        #expect(reply.headers["Nats-Service-Error-Code"] == nil, "\(String(decoding: reply.payload, as: UTF8.self))")
        #expect(await waitUntilAsync(timeout: .seconds(10)) { (await Self.json(portB, "/api/v2/alerts") as? [Any])?.count == 4 },
                "the standby sees the resolve the owner applied")
        await standby.process.stop()
        await owner.process.stop()
    }

    @Test("a restart under the same instance name takes its own lease back at once after a kill -9, not after the TTL")
    func restartReclaimsItsLease() async throws {
        let directory = try makeTemporaryDirectory("ha-restart")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let port = freeLoopbackPort()
        let config = Self.config(nats: nats.url, port: port, instance: "solo").replacingOccurrences(of: "ha: {instance: solo}", with: "ha: {instance: solo, lease_ttl: 30s}")
        let first = try AlerterProcess(config: config, directory: directory)
        defer { first.process.kill() }
        try await first.process.waitForOutput(containing: "subscribed; waiting for events")
        first.process.kill()
        _ = try await first.process.waitForExit()
        let restarted = ContinuousClock.now
        let second = try AlerterProcess(config: config, directory: directory)
        defer { second.process.kill() }
        try await second.process.waitForOutput(containing: "taking over now", timeout: .seconds(10))
        try await second.process.waitForOutput(containing: "subscribed; waiting for events", timeout: .seconds(10))
        #expect(ContinuousClock.now - restarted < .seconds(10), "the 30 s lease of the killed process was not waited for")
        await second.process.stop()
    }
}
