import Synchronization

/// Lets a repeated log line through at most once per interval, so a flood
/// of the same failure (slow-consumer drops, refused publishes) costs one
/// line per interval, not one per occurrence. Thread-safe.
public final class LogInterval: Sendable {
    public let interval: Duration
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    public init(_ interval: Duration = .seconds(10)) {
        self.interval = interval
    }

    /// True when the line may be logged now; the next one then waits an interval.
    public func admit() -> Bool {
        let now = ContinuousClock.now
        return last.withLock { last in
            if let previous = last, previous.duration(to: now) < interval { return false }
            last = now
            return true
        }
    }
}
