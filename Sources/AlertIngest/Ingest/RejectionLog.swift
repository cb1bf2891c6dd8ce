public import AlertCore
public import Logging
import Synchronization

/// Logs rejected events without flooding: the first rejection of each reason
/// is logged at once, then at most one line per reason per `interval`, which
/// says how many more were rejected meanwhile and shows the latest example.
public final class RejectionLog: Sendable {
    private struct Entry {
        var lastLogged: ContinuousClock.Instant
        var suppressed: Int
    }

    private let logger: Logger
    private let interval: Duration
    private let entries = Mutex<[String: Entry]>([:])

    public init(logger: Logger, interval: Duration = .seconds(10)) {
        self.logger = logger
        self.interval = interval
    }

    public func record(_ rejection: EventRejection, subject: String) {
        guard let suppressed = due(rejection.reason.rawValue) else { return }
        logger.warning("rejected event", metadata: [
            "reason": .string(rejection.reason.rawValue),
            "error": .string(rejection.detail),
            "subject": .string(subject),
            "rejected_since_last_log": .stringConvertible(suppressed),
        ])
    }

    /// An accepted event whose time or values were out of range and replaced
    /// (`AlertEvent.sanitize`): logged like rejections, once per interval.
    public func recordAdjustment(_ adjusted: EventAdjustments, subject: String, event: AlertEvent) {
        guard let suppressed = due("adjusted") else { return }
        logger.warning("event accepted with out-of-range fields replaced", metadata: [
            "fields": .array(EventAdjustments.fields.filter { adjusted.contains($0.0) }.map { .string($0.1) }),
            "rule": "occurred_at before 1970 or past the receive time + nats.limits.max_clock_skew: the receive time is used; NaN/Inf values: absent",
            "alert_type": .string(String(event.alertType.prefix(100))),
            "subject": .string(subject),
            "adjusted_since_last_log": .stringConvertible(suppressed),
        ])
    }

    /// Nil while `key` was logged less than `interval` ago (counted as
    /// suppressed); else the number suppressed since the last line.
    private func due(_ key: String) -> Int? {
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard var entry = entries[key] else {
                entries[key] = Entry(lastLogged: now, suppressed: 0)
                return 0
            }
            if entry.lastLogged.duration(to: now) < interval {
                entry.suppressed += 1
                entries[key] = entry
                return nil
            }
            let count = entry.suppressed
            entries[key] = Entry(lastLogged: now, suppressed: 0)
            return count
        }
    }
}
