import AlertTestSupport
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

    let port: Int
    let process: ChildProcess
    private let outFile: URL

    var url: String { "http://127.0.0.1:\(port)" }

    /// - Parameter responses: scripted answers, e.g. ["429:2", "500"]; then 200s.
    init(directory: URL, responses: [String] = [], port fixedPort: Int? = nil) async throws {
        let portFile = directory.appendingPathComponent("recorder-\(UUID().uuidString.prefix(8)).port")
        outFile = directory.appendingPathComponent("recorder-\(UUID().uuidString.prefix(8)).jsonl")
        var arguments = [packageRoot.appendingPathComponent("Tests/Fixtures/http_recorder.py").path,
                         "--port-file", portFile.path, "--out", outFile.path]
        if !responses.isEmpty { arguments += ["--responses", responses.joined(separator: ",")] }
        if let fixedPort { arguments += ["--port", String(fixedPort)] }
        process = try ChildProcess(name: "http-recorder", executable: "/usr/bin/python3", arguments: arguments, directory: directory)
        guard await waitUntil(timeout: .seconds(10), { (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0) } != nil }),
              let port = (try? String(contentsOf: portFile, encoding: .utf8)).flatMap({ Int($0) }) else {
            throw HarnessError("http recorder did not start:\n\(process.output)")
        }
        self.port = port
    }

    var requests: [Request] {
        guard let text = try? String(contentsOf: outFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { return nil }
            return Request(
                time: object["time"] as? Double ?? 0, path: object["path"] as? String ?? "",
                headers: object["headers"] as? [String: String] ?? [:], body: object["body"] as? String ?? "",
                answer: object["answer"] as? String ?? ""
            )
        }
    }
}
