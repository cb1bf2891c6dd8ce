/// Spaces requests to the same destination (Slack allows about one message
/// per second per incoming webhook). Shared by every integration, keyed by
/// destination, so two receivers posting to one webhook share its budget.
public actor RateLimiter {
    private let interval: Duration
    private var nextSlot: [String: ContinuousClock.Instant] = [:]

    public init(interval: Duration) {
        self.interval = interval
    }

    /// Waits until a request to `key` may go out, and books that slot.
    public func acquire(_ key: String) async {
        let now = ContinuousClock.now
        let slot = max(now, nextSlot[key] ?? now)
        nextSlot[key] = slot.advanced(by: interval)
        if slot > now {
            try? await Task.sleep(until: slot, clock: .continuous)
        }
    }
}
