/// Spaces requests to the same destination (Slack allows about one message
/// per second per incoming webhook). Shared by every integration, keyed by
/// destination, so two receivers posting to one webhook share its budget.
///
/// One request per key is in flight at a time, and the next one starts no
/// sooner than `interval` after the previous one *finished*. Spacing from the
/// previous start was not enough: a request that spent 0.2 s in connection
/// set-up reached Slack 0.8 s before the next one (a CI run caught it).
/// Measured from completion, the gap the receiver sees is at least
/// `interval`, because a request arrives before its response is read.
public actor RateLimiter {
    private struct Lane {
        var busy = false
        var readyAt: ContinuousClock.Instant?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let interval: Duration
    private var lanes: [String: Lane] = [:]

    public init(interval: Duration) {
        self.interval = interval
    }

    /// Waits until a request to `key` may go out and takes the key's turn.
    /// Every `acquire` must be followed by one `release`.
    public func acquire(_ key: String) async {
        if lanes[key, default: Lane()].busy {
            // `release` hands the turn straight to the first waiter.
            await withCheckedContinuation { lanes[key, default: Lane()].waiters.append($0) }
        } else {
            lanes[key, default: Lane()].busy = true
        }
        if let ready = lanes[key]?.readyAt, ready > .now {
            try? await Task.sleep(until: ready, clock: .continuous)
        }
    }

    /// The request to `key` is over (answered or failed): the next one may
    /// start `interval` from now.
    public func release(_ key: String) {
        guard var lane = lanes[key], lane.busy else { return }
        lane.readyAt = ContinuousClock.now.advanced(by: interval)
        if lane.waiters.isEmpty {
            lane.busy = false
        } else {
            lane.waiters.removeFirst().resume()
        }
        lanes[key] = lane
    }

    /// Runs `request` in `key`'s turn.
    public func spaced<T: Sendable, E: Error>(_ key: String, _ request: () async throws(E) -> T) async throws(E) -> T {
        await acquire(key)
        do {
            let result = try await request()
            release(key)
            return result
        } catch {
            release(key)
            throw error
        }
    }
}
