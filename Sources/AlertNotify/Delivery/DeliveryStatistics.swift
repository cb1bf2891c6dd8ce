import Synchronization

/// What delivery did, per (receiver, integration): the numbers behind
/// `nats_alerter_notifications_total`, `…_failed_total{reason}`,
/// `…_notification_latency_seconds` and the queue depth gauge.
public final class DeliveryStatistics: Sendable {
    public struct Key: Hashable, Sendable {
        public var receiver: String
        public var integration: String
    }

    public struct Counts: Sendable, Equatable {
        public var delivered = 0
        public var failed: [String: Int] = [:]
        public var retries = 0
        public var queued = 0
        public var dropped = 0
        /// Alerts a receiver refused one by one (Alertmanager's 400 for one
        /// alert of a batch, found by splitting the batch) and that were dropped.
        public var alertsRejected = 0
    }

    /// Latency histogram bucket bounds, in seconds.
    public static let latencyBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

    public struct Latency: Sendable, Equatable {
        /// Cumulative counts per bucket bound (Prometheus `le`), then +Inf = `count`.
        public var buckets: [Int] = Array(repeating: 0, count: DeliveryStatistics.latencyBuckets.count)
        public var count = 0
        public var sum = 0.0
    }

    private let state = Mutex<(counts: [Key: Counts], latency: [String: Latency])>(([:], [:]))
    /// Latencies not yet taken by metrics; bounded.
    private let pendingLatencies = Mutex<[(integration: String, seconds: Double)]>([])

    /// Takes the delivery latencies recorded since the last call.
    public func drainLatencies() -> [(integration: String, seconds: Double)] {
        pendingLatencies.withLock { pending in
            defer { pending = [] }
            return pending
        }
    }

    public init() {}

    func update(_ key: Key, _ change: (inout Counts) -> Void) {
        state.withLock { change(&$0.counts[key, default: Counts()]) }
    }

    func observeLatency(integration: String, seconds: Double) {
        pendingLatencies.withLock { pending in
            if pending.count < 10_000 { pending.append((integration, seconds)) }
        }
        state.withLock { state in
            var latency = state.latency[integration, default: Latency()]
            for (index, bound) in Self.latencyBuckets.enumerated() where seconds <= bound { latency.buckets[index] += 1 }
            latency.count += 1
            latency.sum += seconds
            state.latency[integration] = latency
        }
    }

    public var counts: [Key: Counts] { state.withLock { $0.counts } }
    public var latency: [String: Latency] { state.withLock { $0.latency } }

    public func counts(receiver: String, integration: String) -> Counts {
        state.withLock { $0.counts[Key(receiver: receiver, integration: integration)] ?? Counts() }
    }
}
