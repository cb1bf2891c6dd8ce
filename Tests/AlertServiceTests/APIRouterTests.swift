import AlertCore
@testable import AlertService
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// The routing of the API tests' runtime: two receivers, critical inhibits warning per cluster.
let apiTestRouting = """
    route:
      receiver: team
      group_by: [alertname]
      routes: [{receiver: db, matchers: ['team="db"']}]
    receivers: [{name: team}, {name: db}]
    inhibit_rules:
      - source_matchers: ['severity="critical"']
        target_matchers: ['severity="warning"']
        equal: [cluster]
    """

/// A runtime with alerts and silences in it, no NATS connection.
func makeRuntime(extraConfig: String = "", configPath: String? = nil) throws -> Alerter {
    let config = try ConfigLoader.parse(yaml: """
        nats: {subjects: ["system.>"]}
        \(apiTestRouting)
        \(extraConfig)
        """)
    return Alerter(config: config, configPath: configPath, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
}

func fire(_ runtime: Alerter, _ event: AlertEvent) async {
    let transition = runtime.store.apply(event, receivedAt: Date())
    _ = await runtime.engine.step([transition], at: Date())
}

extension TestClientProtocol {
    /// A body is sent as `application/json` unless `headers` name another Content-Type.
    func request(_ uri: String, _ method: HTTPRequest.Method = .get, body: String? = nil, headers: HTTPFields = [:]) async throws -> (HTTPResponse.Status, String) {
        var headers = headers
        if body != nil && headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
            (response.status, String(buffer: response.body))
        }
    }
}

func json(_ text: String) -> Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) }

@Suite("HTTP API")
struct APIRouterTests {
    func app(_ runtime: Alerter) -> some ApplicationProtocol {
        Application(router: APIRouter.build(runtime: runtime, metrics: AlerterMetrics(alerter: runtime)))
    }

    @Test("health is always OK; readiness says why it is not ready")
    func health() async throws {
        let runtime = try makeRuntime()
        try await app(runtime).test(.router) { (client: any TestClientProtocol) async throws in
            #expect(try await client.request("/-/healthy") == (.ok, "OK\n"))
            let (status, body) = try await client.request("/-/ready")
            #expect(status == .serviceUnavailable)
            #expect(body == "state not loaded yet\n")
            // The engine loop running (here without NATS) is what "state loaded" means now.
            let loop = Task { try await runtime.loop.run() }
            defer { loop.cancel() }
            for _ in 0..<1000 where !runtime.loop.readiness.ready { try await Task.sleep(for: .milliseconds(10)) }
            #expect(try await client.request("/-/ready") == (.serviceUnavailable, "not connected to NATS yet\n"))
        }
    }

    @Test("alerts: Alertmanager's shape, receivers, silenced/inhibited state and the query filters")
    func alerts() async throws {
        let runtime = try makeRuntime()
        await fire(runtime, AlertEvent(alertType: "node_down", severity: .critical, labels: ["cluster": "a"], subject: "system.x"))
        await fire(runtime, AlertEvent(alertType: "disk_slow", severity: .warning, labels: ["cluster": "a", "team": "db"], subject: "system.x"))
        await fire(runtime, AlertEvent(alertType: "cpu_hot", severity: .error, subject: "system.x"))
        try runtime.silencer.upsert(Silence(matchers: [try Matcher(name: "alertname", type: .equal, value: "cpu_hot")],
                                            startsAt: Date(), endsAt: Date() + 3600, createdBy: "me", comment: "test"), now: Date())
        try await app(runtime).test(.router) { (client: any TestClientProtocol) async throws in
            let (status, body) = try await client.request("/api/v2/alerts")
            #expect(status == .ok)
            let alerts = try #require(json(body) as? [[String: Any]])
            #expect(alerts.count == 3)
            let byName = Dictionary(uniqueKeysWithValues: alerts.map { (($0["labels"] as? [String: String])?["alertname"] ?? "", $0) })
            let slow = try #require(byName["disk_slow"])
            #expect((slow["receivers"] as? [[String: String]]) == [["name": "db"]])
            let slowStatus = try #require(slow["status"] as? [String: Any])
            #expect(slowStatus["state"] as? String == "suppressed")
            #expect((slowStatus["inhibitedBy"] as? [String])?.count == 1)
            for key in ["annotations", "endsAt", "fingerprint", "startsAt", "updatedAt", "labels"] { #expect(slow[key] != nil, "missing \(key)") }
            #expect(((byName["cpu_hot"]?["status"] as? [String: Any])?["silencedBy"] as? [String])?.count == 1)

            let filtered = try await client.request("/api/v2/alerts?filter=alertname%3D%22node_down%22")
            #expect((json(filtered.1) as? [Any])?.count == 1)
            let notSilenced = try await client.request("/api/v2/alerts?silenced=false&inhibited=false")
            #expect((json(notSilenced.1) as? [[String: Any]])?.compactMap { ($0["labels"] as? [String: String])?["alertname"] } == ["node_down"])
            let forDB = try await client.request("/api/v2/alerts?receiver=d.*")
            #expect((json(forDB.1) as? [Any])?.count == 1)
            #expect(try await client.request("/api/v2/alerts?filter=alertname%3D~%22(%22").0 == .badRequest)
            #expect(try await client.request("/api/v2/alerts?active=maybe").0 == .badRequest)

            let groups = try #require(json(try await client.request("/api/v2/alerts/groups").1) as? [[String: Any]])
            #expect(groups.count == 3)
            #expect(groups.allSatisfy { ($0["receiver"] as? [String: String])?["name"] != nil && ($0["alerts"] as? [Any])?.isEmpty == false })
        }
    }

    @Test("silences: create, read, update, expire; errors are 400 or 404 with what is wrong")
    func silences() async throws {
        let runtime = try makeRuntime()
        try await app(runtime).test(.router) { (client: any TestClientProtocol) async throws in
            let start = APIJSON.timestamp(Date()), end = APIJSON.timestamp(Date() + 3600)
            let body = """
                {"matchers":[{"name":"alertname","value":"disk_full","isRegex":false,"isEqual":true}],
                 "startsAt":"\(start)","endsAt":"\(end)","createdBy":"oncall","comment":"replacing disk"}
                """
            let (status, created) = try await client.request("/api/v2/silences", .post, body: body)
            #expect(status == .ok)
            let id = try #require((json(created) as? [String: String])?["silenceID"])
            let (_, fetched) = try await client.request("/api/v2/silence/\(id)")
            let silence = try #require(json(fetched) as? [String: Any])
            #expect((silence["status"] as? [String: String])?["state"] == "active")
            #expect(silence["createdBy"] as? String == "oncall")
            #expect((json(try await client.request("/api/v2/silences").1) as? [Any])?.count == 1)
            #expect((json(try await client.request("/api/v2/silences?filter=alertname%3D%22disk_full%22").1) as? [Any])?.count == 1)
            #expect((json(try await client.request("/api/v2/silences?filter=alertname%3D%22other%22").1) as? [Any])?.count == 0)

            #expect(try await client.request("/api/v2/silence/\(id)", .delete).0 == .ok)
            let (_, expired) = try await client.request("/api/v2/silence/\(id)")
            #expect(((json(expired) as? [String: Any])?["status"] as? [String: String])?["state"] == "expired")
            // Expiring an expired silence again is fine, as in Alertmanager.
            #expect(try await client.request("/api/v2/silence/\(id)", .delete).0 == .ok)
            #expect(try await client.request("/api/v2/silence/nope", .delete).0 == .notFound)
            #expect(try await client.request("/api/v2/silence/nope").0 == .notFound)

            for (bad, message) in [
                ("not json", "not a JSON object"),
                (#"{"startsAt":"\#(start)","endsAt":"\#(end)","createdBy":"a","comment":"b"}"#, "matchers: required"),
                (#"{"matchers":[{"name":"a","value":"(","isRegex":true}],"startsAt":"\#(start)","endsAt":"\#(end)","createdBy":"a","comment":"b"}"#, "invalid regular expression"),
                (#"{"matchers":[{"name":"a","value":"b","isRegex":false}],"startsAt":"\#(end)","endsAt":"\#(start)","createdBy":"a","comment":"b"}"#, "invalid silence"),
                (#"{"matchers":[{"name":"a","value":"b","isRegex":false}],"startsAt":"yesterday","endsAt":"\#(end)","createdBy":"a","comment":"b"}"#, "startsAt"),
            ] {
                let (status, text) = try await client.request("/api/v2/silences", .post, body: bad)
                #expect(status == .badRequest, "\(bad)")
                #expect((json(text) as? String)?.contains(message) == true, "\(text)")
            }
            let tooBig = "{\"comment\":\"" + String(repeating: "x", count: 2 << 20) + "\"}"
            #expect(try await client.request("/api/v2/silences", .post, body: tooBig).0 == .contentTooLarge)
        }
    }

    @Test("a silence posted after the final state write at shutdown gets 503, not a 200 for a silence that is then lost")
    func silencesRefusedAfterFinalWrite() async throws {
        let runtime = try makeRuntime()
        try await app(runtime).test(.router) { (client: any TestClientProtocol) async throws in
            let start = APIJSON.timestamp(Date()), end = APIJSON.timestamp(Date() + 3600)
            let body = """
                {"matchers":[{"name":"alertname","value":"disk_full","isRegex":false,"isEqual":true}],
                 "startsAt":"\(start)","endsAt":"\(end)","createdBy":"oncall","comment":"replacing disk"}
                """
            let (status, created) = try await client.request("/api/v2/silences", .post, body: body)
            #expect(status == .ok)
            let id = try #require((json(created) as? [String: String])?["silenceID"])
            runtime.silencer.close()
            let (refused, message) = try await client.request("/api/v2/silences", .post, body: body)
            #expect(refused == .serviceUnavailable)
            #expect(message.contains("shutting down"))
            #expect(try await client.request("/api/v2/silence/\(id)", .delete).0 == .serviceUnavailable)
            #expect(runtime.silencer.all.count == 1)
            #expect(runtime.journal.drain().filter { if case .silenceUpserted = $0 { true } else { false } }.count == 1)
        }
    }

    @Test("with server.api_token_file, mutating endpoints answer 401 without the token")
    func bearerToken() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let tokenFile = folder.appendingPathComponent("token").path
        try "s3cret\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let runtime = try makeRuntime(extraConfig: "server: {api_token_file: \"\(tokenFile)\"}")
        try await app(runtime).test(.router) { (client: any TestClientProtocol) async throws in
            let body = #"{"matchers":[{"name":"a","value":"b","isRegex":false}],"startsAt":"\#(APIJSON.timestamp(Date()))","endsAt":"\#(APIJSON.timestamp(Date() + 60))","createdBy":"a","comment":"b"}"#
            #expect(try await client.request("/api/v2/silences", .post, body: body).0 == .unauthorized)
            #expect(try await client.request("/api/v2/silences", .post, body: body, headers: [.authorization: "Bearer wrong"]).0 == .unauthorized)
            #expect(try await client.request("/-/reload", .post).0 == .unauthorized)
            #expect(try await client.request("/api/v2/silence/x", .delete).0 == .unauthorized)
            #expect(try await client.request("/api/v2/silences", .post, body: body, headers: [.authorization: "Bearer s3cret"]).0 == .ok)
            #expect(try await client.request("/api/v2/silences").0 == .ok)  // reads need no token
        }
    }

    @Test("status and receivers in Alertmanager's shape; status carries an Alertmanager-loadable config")
    func statusAndReceivers() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("status-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("alerter.yaml").path
        try """
            nats: {subjects: ["a.>"]}
            global: {resolve_timeout: 5m, external_url: "http://x"}
            route: {receiver: team, routes: [{receiver: ml, subjects: ["drl.>"], repeat_interval: never}]}
            receivers: [{name: team, alertmanager_configs: [{urls: ["http://am:9093"]}]}, {name: ml}]
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let runtime = Alerter(config: try ConfigLoader.load(path: path), configPath: path, logger: Logger(label: "t"))
        try await app(runtime).test(.router) { (client: any TestClientProtocol) async throws in
            let status = try #require(json(try await client.request("/api/v2/status").1) as? [String: Any])
            #expect((status["cluster"] as? [String: Any])?["status"] as? String == "disabled")
            let original = try #require((status["config"] as? [String: String])?["original"])
            #expect(!original.contains("nats:") && !original.contains("subjects") && !original.contains("alertmanager_configs") && !original.contains("external_url"))
            #expect(original.contains("repeat_interval: 8760h"))
            #expect(status["uptime"] != nil && status["versionInfo"] != nil)
            let receivers = json(try await client.request("/api/v2/receivers").1) as? [[String: String]]
            #expect(receivers == [["name": "ml"], ["name": "team"]])
            #expect(try await client.request("/-/reload", .post).0 == .ok)
        }
        await runtime.notifiers.shutdown(grace: .seconds(1))  // the reload built integrations; their HTTP clients must be shut down
    }

    @Test("/metrics names every metric with HELP and TYPE")
    func metrics() async throws {
        let runtime = try makeRuntime()
        await fire(runtime, AlertEvent(alertType: "high_memory", severity: .warning, subject: "system.x"))
        runtime.loop.recordTriggered([.fired(runtime.store.activeAlerts()[0])])
        try await app(runtime).test(.router) { (client: any TestClientProtocol) async throws in
            let (status, text) = try await client.request("/metrics")
            #expect(status == .ok)
            #expect(text.contains(#"alerts_triggered_total{alert_type="high_memory"} 1"#))
            #expect(text.contains(#"alert_active{alert_type="high_memory"} 1"#))
            #expect(text.contains(#"nats_alerter_alerts_active{alertname="high_memory",severity="warning"} 1"#))
            #expect(text.contains("# HELP nats_alerter_build_info"))
            let names = Set(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { String($0.prefix { $0 != "{" && $0 != " " }) })
            for name in names where !name.hasSuffix("_bucket") && !name.hasSuffix("_count") && !name.hasSuffix("_sum") {
                #expect(text.contains("# HELP \(name) "), "no HELP for \(name)")
            }
        }
    }
}
