import AlertCore
import Foundation

/// The status page (`/ui/status`): build, uptime, the NATS connection, the
/// durable outbox's backlog and dead letters, and the running configuration
/// with secrets as `<secret>` (what `GET /api/v2/status` exports).
struct StatusPage {
    struct DeadLetter {
        var receiver: String
        var integration: String
        var reason: String
        var count: Int
    }

    var chrome: UIChrome
    var version = AlerterMetrics.version
    var startedAt: String
    var uptime: String
    var nats: String
    var mode: String
    /// Messages waiting in the outbox stream; nil in memory mode or when JetStream did not answer.
    var outboxBacklog: String?
    var deadLetters: [DeadLetter]
    var config: String

    init(runtime: Alerter, session: UISession.State) async {
        chrome = UIChrome(title: "Status", path: "/ui/status", session: session)
        let now = runtime.clock.now()
        startedAt = UIPage.time(runtime.startedAt)
        uptime = Self.duration(now.timeIntervalSince(runtime.startedAt))
        nats = runtime.ingest.map { $0.connection.state.rawValue } ?? "not configured"
        mode = runtime.outbox == nil ? "memory (notifications from memory)" : "durable (JetStream outbox)"
        if let outbox = runtime.outbox {
            outboxBacklog = await runBlocking("outbox message count", { outbox.pendingCount() }).map { "\($0) messages" } ?? "unknown (JetStream did not answer)"
        }
        deadLetters = (runtime.outbox?.deadLetters.snapshot ?? [:])
            .map { DeadLetter(receiver: $0.key.receiver, integration: $0.key.integration, reason: $0.key.reason, count: $0.value) }
            .sorted { ($0.receiver, $0.integration, $0.reason) < ($1.receiver, $1.integration, $1.reason) }
        config = AlertmanagerConfigExport.yaml(of: runtime.config)
    }

    /// `3d 4h 5m 6s`, largest unit first, zero units left out.
    static func duration(_ seconds: TimeInterval) -> String {
        var rest = Int(max(0, seconds))
        var parts: [String] = []
        for (unit, size) in [("d", 86400), ("h", 3600), ("m", 60)] where rest >= size {
            parts.append("\(rest / size)\(unit)")
            rest %= size
        }
        if rest > 0 || parts.isEmpty { parts.append("\(rest)s") }
        return parts.joined(separator: " ")
    }
}
