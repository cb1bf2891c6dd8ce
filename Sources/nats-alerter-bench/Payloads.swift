import AlertCore
import AlertIngest
import Foundation

/// The events the load generator publishes: realistic `AlertEvent`s of about
/// 250 bytes (labels, summary, a runbook annotation), over a chosen number of
/// distinct fingerprints, optionally with a share of RESOLVED events.
struct LoadShape: Sendable {
    var alertname = "worker_failure"
    var distinct = 1_000
    /// Every `resolveEvery`-th event is a RESOLVED one (0 = none).
    var resolveEvery = 0
    var extraLabels = 3
    var summaryBytes = 48

    func event(_ index: Int, resolved: Bool = false, publishedAtNanos: UInt64? = nil, source: String? = nil) -> AlertEvent {
        let key = index % distinct
        var labels: [String: String] = ["cluster": "sim-eu-1", "worker": "w\(key)"]
        for extra in 0..<max(0, extraLabels - 2) { labels["zone\(extra)"] = "rack-\(key % 16)" }
        var annotations = ["runbook": "https://runbooks.example/worker_failure"]
        if let publishedAtNanos { annotations["published_at_ns"] = String(publishedAtNanos) }
        let summary = String("Worker w\(key) failed its health check; simulation step stalled ......................".prefix(summaryBytes))
        return AlertEvent(alertType: alertname, severity: .warning, status: resolved ? .resolved : .firing, source: source ?? "simulation-worker",
                          summary: summary, labels: labels, annotations: annotations, eventID: "")
    }

    /// Pre-encoded payloads, cycled by the publisher (so encoding never limits the rate).
    func pool() -> (firing: [[UInt8]], resolved: [[UInt8]]) {
        let firing = (0..<distinct).map { ProtobufEventEncoder.encode(event($0)) }
        let resolved = resolveEvery > 0 ? (0..<distinct).map { ProtobufEventEncoder.encode(event($0, resolved: true)) } : []
        return (firing, resolved)
    }
}

/// Publishes `count` events on `subject`, flat out (`rate` 0) or paced, and
/// reports when it started and finished.
struct Publisher {
    let connection: RawConnection
    /// Event `i` goes to `subjects[i % subjects.count]`.
    let subjects: [String]
    let shape: LoadShape

    init(connection: RawConnection, subject: String, shape: LoadShape) {
        self.init(connection: connection, subjects: [subject], shape: shape)
    }

    init(connection: RawConnection, subjects: [String], shape: LoadShape) {
        self.connection = connection
        self.subjects = subjects
        self.shape = shape
    }

    struct Result: Sendable {
        var published: Int
        var startNanos: UInt64
        var endNanos: UInt64
        var payloadBytes: Int
        var seconds: Double { Double(endNanos - startNanos) / 1e9 }
        var rate: Double { Double(published) / max(seconds, 1e-9) }
    }

    /// - Parameter encodeEach: encode every event (for more distinct alerts than fit a pool).
    func run(count: Int, rate: Double = 0, encodeEach: Bool = false, maxSeconds: Double = 120) throws -> Result {
        let pool = encodeEach ? ([], []) : shape.pool()
        let start = wallNanos()
        let deadline = start + UInt64(maxSeconds * 1e9)
        var bytes = 0
        var published = 0
        for index in 0..<count {
            let resolved = shape.resolveEvery > 0 && index % shape.resolveEvery == shape.resolveEvery - 1
            let payload = encodeEach ? ProtobufEventEncoder.encode(shape.event(index, resolved: resolved))
                : (resolved ? pool.1[index % shape.distinct] : pool.0[index % shape.distinct])
            if index == 0 { bytes = payload.count }
            try connection.publish(subjects[index % subjects.count], payload)
            published += 1
            if rate > 0 && index % 64 == 63 {
                let due = start + UInt64(Double(index + 1) / rate * 1e9)
                let now = wallNanos()
                if due > now { usleep(UInt32(min(due - now, 1_000_000_000) / 1_000)) }
            }
            if index % 65_536 == 65_535 && wallNanos() > deadline { break }
        }
        try connection.flush()
        return Result(published: published, startNanos: start, endNanos: wallNanos(), payloadBytes: bytes)
    }
}
