import AlertTestSupport
import Foundation

/// A Python server from Tests/Fixtures, run with Debian's python3: it binds a
/// free loopback port, writes it to `--port-file` and records what it
/// receives as JSON lines in `--out`.
final class PythonFixture: Sendable {
    let port: Int
    let process: ChildProcess
    private let outFile: URL

    /// Starts `Tests/Fixtures/<script>` with the port and output files plus `arguments`.
    /// - Parameter hint: added to the error when it does not start (what to install, say).
    init(script: String, name: String, arguments: [String], directory: URL, hint: String = "") async throws {
        let id = "\(name)-\(UUID().uuidString.prefix(8))"
        let portFile = directory.appendingPathComponent("\(id).port")
        outFile = directory.appendingPathComponent("\(id).jsonl")
        let process = try ChildProcess(
            name: name, executable: "/usr/bin/python3",
            arguments: [packageRoot.appendingPathComponent("Tests/Fixtures/\(script)").path, "--port-file", portFile.path, "--out", outFile.path]
                + arguments,
            directory: directory
        )
        self.process = process
        let readPort = { (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0) } }
        guard await waitUntil(timeout: .seconds(10), { readPort() != nil || !process.isRunning }), let port = readPort() else {
            throw HarnessError("\(name) did not start\(hint.isEmpty ? "" : " (\(hint))"):\n\(process.output)")
        }
        self.port = port
    }

    /// Every record written so far, in order.
    var records: [[String: Any]] {
        guard let text = try? String(contentsOf: outFile, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }
}
