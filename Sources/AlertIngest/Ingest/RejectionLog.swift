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
    private let entries = Mutex<[RejectReason: Entry]>([:])

    public init(logger: Logger, interval: Duration = .seconds(10)) {
        self.logger = logger
        self.interval = interval
    }

    public func record(_ rejection: EventRejection, subject: String) {
        let now = ContinuousClock.now
        let suppressed: Int? = entries.withLock { entries in
            guard var entry = entries[rejection.reason] else {
                entries[rejection.reason] = Entry(lastLogged: now, suppressed: 0)
                return 0
            }
            if entry.lastLogged.duration(to: now) < interval {
                entry.suppressed += 1
                entries[rejection.reason] = entry
                return nil
            }
            let count = entry.suppressed
            entries[rejection.reason] = Entry(lastLogged: now, suppressed: 0)
            return count
        }
        guard let suppressed else { return }
        logger.warning("rejected event", metadata: [
            "reason": .string(rejection.reason.rawValue),
            "error": .string(rejection.detail),
            "subject": .string(subject),
            "rejected_since_last_log": .stringConvertible(suppressed),
        ])
    }
}
