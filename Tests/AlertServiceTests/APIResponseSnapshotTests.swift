import AlertCore
@testable import AlertService
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// Every answer of the HTTP API for one fixed runtime (a frozen clock, three
/// alerts, two silences, a bearer token), compared with the answers recorded
/// in `Tests/Fixtures/api-responses.json`: status, Content-Type and the JSON
/// values (keys in any order; array order is not compared, the alert store
/// lists in hash order). amtool and Alertmanager clients read these shapes,
/// so a change to them is a change of the API.
///
/// To record the file again after a deliberate change of the API:
/// `RECORD_API_RESPONSES=1 swift test --skip-build --filter APIResponseSnapshotTests`.
@Suite("HTTP API answers keep Alertmanager's shapes")
struct APIResponseSnapshotTests {
    struct FrozenClock: WallClock {
        let instant: Date
        func now() -> Date { instant }
    }

    /// One recorded answer.
    struct Answer: Codable, Equatable {
        var status: Int
        var contentType: String?
        var body: String
    }

    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let goldenFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/api-responses.json")

    @Test("each endpoint answers an operator's requests with the recorded status, Content-Type and JSON")
    func answersMatchRecording() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("api-snapshot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let configFile = folder.appendingPathComponent("alerter.yaml").path, tokenFile = folder.appendingPathComponent("token").path
        try "s3cret\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let yaml = """
            nats: {subjects: ["system.>"]}
            server: {api_token_file: "\(tokenFile)"}
            global: {resolve_timeout: 5m}
            \(apiTestRouting)
            """
        try yaml.write(toFile: configFile, atomically: true, encoding: .utf8)
        let runtime = Alerter(config: try ConfigLoader.load(path: configFile), configPath: configFile,
                              logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), clock: FrozenClock(instant: Self.now))
        for event in [
            AlertEvent(alertType: "node_down", severity: .critical, labels: ["cluster": "a"], annotations: ["summary": "node a/1 is down"],
                       generatorURL: "http://prometheus:9090/graph?g0.expr=up", subject: "system.node"),
            AlertEvent(alertType: "disk_slow", severity: .warning, labels: ["cluster": "a", "team": "db"], subject: "system.disk"),
            AlertEvent(alertType: "cpu_hot", severity: .error, subject: "system.cpu"),
        ] {
            let transition = runtime.store.apply(event, receivedAt: Self.now - 60)
            _ = await runtime.engine.step([transition], at: Self.now - 60)
        }

        let token: HTTPFields = [.authorization: "Bearer s3cret"]
        let app = Application(router: APIRouter.build(runtime: runtime, metrics: AlerterMetrics(alerter: runtime)))
        let answers = try await app.test(.router) { (client: any TestClientProtocol) async throws -> [String: Answer] in
            var answers: [String: Answer] = [:]
            var silenceIDs: [String] = []
            func record(_ name: String, _ uri: String, _ method: HTTPRequest.Method = .get, body: String? = nil, headers: HTTPFields = [:]) async throws {
                var headers = headers
                if body != nil { headers[.contentType] = "application/json" }
                var answer = try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
                    Answer(status: Int(response.status.code), contentType: response.headers[.contentType], body: String(buffer: response.body))
                }
                if let id = (json(answer.body) as? [String: Any])?["silenceID"] as? String { silenceIDs.append(id) }
                for (index, id) in silenceIDs.enumerated() { answer.body = answer.body.replacingOccurrences(of: id, with: "silence-\(index + 1)") }
                answers[name] = answer
            }
            func silenceBody(_ name: String) -> String {
                #"{"matchers":[{"name":"alertname","value":"\#(name)","isRegex":false,"isEqual":true},{"name":"cluster","value":"b.*","isRegex":true,"isEqual":false}],"#
                    + #""startsAt":"\#(APIJSON.timestamp(Self.now))","endsAt":"\#(APIJSON.timestamp(Self.now + 3600))","createdBy":"oncall","comment":"maintenance / \"quoted\""}"#
            }
            try await record("healthy", "/-/healthy")
            try await record("ready", "/-/ready")
            try await record("post silence", "/api/v2/silences", .post, body: silenceBody("cpu_hot"), headers: token)
            try await record("post silence to expire", "/api/v2/silences", .post, body: silenceBody("other"), headers: token)
            try await record("delete silence", "/api/v2/silence/\(silenceIDs[1])", .delete, headers: token)
            try await record("delete expired silence", "/api/v2/silence/\(silenceIDs[1])", .delete, headers: token)
            try await record("alerts", "/api/v2/alerts")
            try await record("alerts neither silenced nor inhibited", "/api/v2/alerts?silenced=false&inhibited=false")
            try await record("alerts of receiver db", "/api/v2/alerts?receiver=db")
            try await record("alert groups", "/api/v2/alerts/groups")
            try await record("alert groups filtered", "/api/v2/alerts/groups?filter=alertname%3D%22node_down%22")
            try await record("receivers", "/api/v2/receivers")
            try await record("silences", "/api/v2/silences")
            try await record("silences filtered", "/api/v2/silences?filter=alertname%3D%22cpu_hot%22")
            try await record("silence", "/api/v2/silence/\(silenceIDs[0])")
            try await record("expired silence", "/api/v2/silence/\(silenceIDs[1])")
            try await record("status", "/api/v2/status")
            try await record("reload", "/-/reload", .post, headers: token)
            try await record("bad filter", "/api/v2/alerts?filter=alertname%3D~%22(%22")
            try await record("bad flag", "/api/v2/alerts?active=maybe")
            try await record("unknown silence", "/api/v2/silence/nope")
            try await record("delete unknown silence", "/api/v2/silence/nope", .delete, headers: token)
            try await record("bad silence", "/api/v2/silences", .post, body: #"{"matchers":[]}"#, headers: token)
            try await record("no token", "/api/v2/silences", .post, body: silenceBody("x"))
            try await record("wrong token", "/-/reload", .post, headers: [.authorization: "Bearer wrong"])
            try await record("not json", "/-/reload", .post, headers: [.contentType: "text/plain"])
            try "route: [".write(toFile: configFile, atomically: true, encoding: .utf8)
            try await record("refused reload", "/-/reload", .post, headers: token)
            try FileManager.default.removeItem(atPath: tokenFile)
            try await record("token file gone", "/api/v2/silence/nope", .delete, headers: token)
            return answers
        }
        await runtime.notifiers.shutdown(grace: .seconds(1))  // the reload started them; their HTTP client must be shut down

        if ProcessInfo.processInfo.environment["RECORD_API_RESPONSES"] == "1" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(answers).write(to: Self.goldenFile)
            return
        }
        let recorded = try JSONDecoder().decode([String: Answer].self, from: Data(contentsOf: Self.goldenFile))
        #expect(Set(answers.keys) == Set(recorded.keys))
        for (name, answer) in answers.sorted(by: { $0.key < $1.key }) {
            guard let expected = recorded[name] else { continue }
            #expect(answer.status == expected.status, "\(name)")
            #expect(answer.contentType == expected.contentType, "\(name)")
            #expect(Self.canonical(answer.body) == Self.canonical(expected.body), "\(name): \(answer.body)")
        }
    }

    /// The body's JSON with keys sorted and arrays in a fixed order, or the text itself when it is not JSON.
    static func canonical(_ body: String) -> String {
        guard let value = json(body) else { return body }
        func normalized(_ value: Any) -> Any {
            switch value {
            case let object as [String: Any]: return object.mapValues(normalized)
            case let array as [Any]: return array.map(normalized).sorted { serialized($0) < serialized($1) }
            default: return value
            }
        }
        return serialized(normalized(value))
    }

    static func serialized(_ value: Any) -> String {
        let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
    }
}
