import AsyncHTTPClient
import Foundation
import NIOCore

/// Posts distinct alerts to a real Alertmanager's `POST /api/v2/alerts` in
/// batches, as fast as it accepts them, with a few requests in flight.
struct AlertmanagerLoad {
    let url: String

    struct Result {
        var sent: Int
        var seconds: Double
        var rate: Double { Double(sent) / max(seconds, 1e-9) }
    }

    func run(count: Int, batch: Int, concurrency: Int, maxSeconds: Double) async throws -> Result {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let batches = (count + batch - 1) / batch
        let bodies: [ByteBuffer] = (0..<batches).map { index in
            let alerts = (0..<batch).map { offset -> [String: Any] in
                let id = index * batch + offset
                return [
                    "labels": ["alertname": "worker_failure", "cluster": "sim-eu-1", "worker": "w\(id)", "severity": "warning", "source": "simulation-worker"],
                    "annotations": ["summary": "Worker w\(id) failed its health check", "runbook": "https://runbooks.example/worker_failure"],
                ]
            }
            return ByteBuffer(bytes: (try? JSONSerialization.data(withJSONObject: alerts)) ?? Data())
        }
        let start = Date()
        let deadline = start.addingTimeInterval(maxSeconds)
        let next = NextIndex()
        let sent: Int
        do {
            sent = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        var posted = 0
                        while let index = next.take(below: batches), Date() < deadline {
                            var request = HTTPClientRequest(url: url)
                            request.method = .POST
                            request.headers.add(name: "Content-Type", value: "application/json")
                            request.body = .bytes(bodies[index])
                            let response = try await client.execute(request, timeout: .seconds(30))
                            _ = try await response.body.collect(upTo: 1 << 20)
                            guard response.status == .ok else { throw BenchError("Alertmanager answered \(response.status)") }
                            posted += batch
                        }
                        return posted
                    }
                }
                return try await group.reduce(0, +)
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        let seconds = Date().timeIntervalSince(start)
        try await client.shutdown()
        return Result(sent: sent, seconds: seconds)
    }
}

private final class NextIndex: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0

    func take(below limit: Int) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        guard value < limit else { return nil }
        defer { value += 1 }
        return value
    }
}
