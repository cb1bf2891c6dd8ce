import Foundation

/// A local HTTP server (Tests/Fixtures/http_recorder.py) that records every
/// request; stands in for webhook receivers and Slack.
final class HTTPRecorder: Sendable {
    struct Request: Sendable {
        let time: Double
        let path: String
        let headers: [String: String]
        let body: String
        let answer: String

        var json: Any? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) }
    }

    private let fixture: PythonFixture

    var port: Int { fixture.port }
    var process: ChildProcess { fixture.process }
    var url: String { "http://127.0.0.1:\(port)" }

    /// - Parameter responses: scripted answers, e.g. ["429:2", "500"]; then 200s.
    /// - Parameter fixedPort: listen on this port instead of a free one (to bring a receiver "back").
    init(directory: URL, responses: [String] = [], port fixedPort: Int? = nil) async throws {
        var arguments = responses.isEmpty ? [] : ["--responses", responses.joined(separator: ",")]
        if let fixedPort { arguments += ["--port", String(fixedPort)] }
        fixture = try await PythonFixture(script: "http_recorder.py", name: "http-recorder", arguments: arguments, directory: directory)
    }

    var requests: [Request] {
        fixture.records.map { object in
            Request(
                time: object["time"] as? Double ?? 0, path: object["path"] as? String ?? "",
                headers: object["headers"] as? [String: String] ?? [:], body: object["body"] as? String ?? "",
                answer: object["answer"] as? String ?? ""
            )
        }
    }
}
