import Foundation
import Synchronization

/// A process started by a test, its output captured to a file so a test can
/// wait for lines without pipe-buffer deadlocks. Killed when released.
final class ChildProcess: Sendable {
    let name: String
    let outputFile: URL
    private let process: Process

    init(name: String, executable: String, arguments: [String], directory: URL) throws {
        self.name = name
        self.outputFile = directory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: outputFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try handle.close()
        self.process = process
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    var output: String {
        (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
    }

    var lines: [String] {
        output.split(separator: "\n").map(String.init)
    }

    /// Lines that are JSON objects, parsed.
    var jsonLines: [[String: Any]] {
        lines.compactMap { line in
            guard line.hasPrefix("{") else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }

    func waitForOutput(containing text: String, count: Int = 1, timeout: Duration = .seconds(15)) async throws {
        let found = await waitUntil(timeout: timeout) { output.components(separatedBy: text).count - 1 >= count }
        if !found {
            throw HarnessError("\(name): no \(count)× \"\(text)\" within \(timeout); output:\n\(output.suffix(4000))")
        }
    }

    func signal(_ signal: Int32) {
        if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
    }

    /// Waits for exit and returns the status.
    func waitForExit(timeout: Duration = .seconds(20)) async throws -> Int32 {
        guard await waitUntil(timeout: timeout, { !process.isRunning }) else {
            Foundation.kill(process.processIdentifier, SIGKILL)
            throw HarnessError("\(name) did not exit within \(timeout); output:\n\(output.suffix(4000))")
        }
        return process.terminationStatus
    }

    /// SIGTERM, then SIGKILL if it has not exited within 3 s. (Children of
    /// `swift test` inherit a signal mask that may block SIGTERM.)
    func stop() async {
        signal(SIGTERM)
        if !(await waitUntil(timeout: .seconds(3), { !process.isRunning })) {
            kill()
            _ = try? await waitForExit(timeout: .seconds(5))
        }
    }

    /// Kills it now (SIGKILL) and reaps it; for cleanup in `defer`.
    func kill() {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }
}
