public import AlertCore
public import Synchronization

/// What ingest has seen since start. Updated on the NATS delivery threads
/// with relaxed atomics (no lock on the hot path); read by the service for
/// logs and metrics. Rejections (rare, and slow anyway) sit behind a mutex.
public final class IngestCounters: Sendable {
    /// Messages handed to the ingest handler.
    public let received = Atomic<Int>(0)
    /// Messages decoded and validated into an event.
    public let decoded = Atomic<Int>(0)
    /// Events for an alert already firing (deduplicated, not forwarded).
    public let duplicates = Atomic<Int>(0)
    /// Of `duplicates`, those absorbed from the wire bytes without decoding
    /// (`DuplicateFastPath`).
    public let wireDuplicates = Atomic<Int>(0)
    /// Events that started a new alert.
    public let fired = Atomic<Int>(0)
    /// Events that resolved a firing alert.
    public let resolved = Atomic<Int>(0)
    /// RESOLVED events for an alert that was not firing.
    public let resolvesOfUnknown = Atomic<Int>(0)
    /// New alerts refused because the active-alert cap was reached.
    public let refusedAtCapacity = Atomic<Int>(0)
    /// Events whose time or values were out of range and replaced
    /// (`AlertEvent.sanitize`), by field: occurred_at, current_value, threshold_value.
    public let adjustedOccurredAt = Atomic<Int>(0)
    public let adjustedCurrentValue = Atomic<Int>(0)
    public let adjustedThresholdValue = Atomic<Int>(0)
    /// FIRING events older than their alert's last resolve (redeliveries), ignored.
    public let staleFirings = Atomic<Int>(0)
    private let rejections = Mutex<[RejectReason: Int]>([:])
    /// Sampled processing times (seconds) not yet taken by metrics; bounded.
    private let processingSamples = Mutex<[Double]>([])

    public init() {}

    func reject(_ reason: RejectReason) {
        rejections.withLock { $0[reason, default: 0] += 1 }
    }

    func recordAdjustments(_ adjusted: EventAdjustments) {
        if adjusted.contains(.occurredAt) { adjustedOccurredAt.add(1, ordering: .relaxed) }
        if adjusted.contains(.currentValue) { adjustedCurrentValue.add(1, ordering: .relaxed) }
        if adjusted.contains(.thresholdValue) { adjustedThresholdValue.add(1, ordering: .relaxed) }
    }

    /// Replaced fields by their name in the event contract.
    public var adjustedByField: [String: Int] {
        [
            "occurred_at_unix_ms": adjustedOccurredAt.load(ordering: .relaxed),
            "current_value": adjustedCurrentValue.load(ordering: .relaxed),
            "threshold_value": adjustedThresholdValue.load(ordering: .relaxed),
        ]
    }

    func sampleProcessing(seconds: Double) {
        processingSamples.withLock { samples in
            if samples.count < 10_000 { samples.append(seconds) }
        }
    }

    /// Takes the processing-time samples recorded since the last call.
    public func drainProcessingSamples() -> [Double] {
        processingSamples.withLock { samples in
            defer { samples = [] }
            return samples
        }
    }

    public func rejected(_ reason: RejectReason) -> Int {
        rejections.withLock { $0[reason, default: 0] }
    }

    public var rejectedByReason: [RejectReason: Int] {
        rejections.withLock { $0 }
    }

    public var rejectedTotal: Int {
        rejections.withLock { $0.values.reduce(0, +) }
    }

    /// A flat copy for logging.
    public var snapshot: [String: Int] {
        var result: [String: Int] = [
            "received": received.load(ordering: .relaxed),
            "decoded": decoded.load(ordering: .relaxed),
            "duplicates": duplicates.load(ordering: .relaxed),
            "fired": fired.load(ordering: .relaxed),
            "resolved": resolved.load(ordering: .relaxed),
            "resolves_of_unknown": resolvesOfUnknown.load(ordering: .relaxed),
            "refused_at_capacity": refusedAtCapacity.load(ordering: .relaxed),
            "stale_firings": staleFirings.load(ordering: .relaxed),
        ]
        for (reason, count) in rejectedByReason {
            result["rejected_\(reason.rawValue)"] = count
        }
        return result
    }
}
