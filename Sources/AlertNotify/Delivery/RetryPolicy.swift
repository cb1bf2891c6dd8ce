/// When to try a failed delivery again: exponential backoff with jitter,
/// bounded by a deadline per notification. A receiver's `Retry-After` is a
/// floor on the wait, never shortened by jitter, and capped at
/// `maximumDelay`: a receiver cannot park a notification (and, in durable
/// mode, every later one for the same integration) for longer than the
/// longest backoff.
public struct RetryPolicy: Sendable, Equatable {
    public var initialDelay: Duration
    public var multiplier: Double
    public var maximumDelay: Duration
    /// After this long since the first attempt, the notification is given up (logged and counted).
    public var deadline: Duration

    public init(initialDelay: Duration = .milliseconds(500), multiplier: Double = 2, maximumDelay: Duration = .seconds(60), deadline: Duration = .seconds(600)) {
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maximumDelay = maximumDelay
        self.deadline = deadline
    }

    /// The backoff before attempt `attempt + 1` (attempt counts from 1), with
    /// jitter in [50 %, 100 %] of the exponential value so that many workers
    /// failing together do not retry together.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?, random: Double = Double.random(in: 0.5...1.0)) -> Duration {
        var seconds = initialDelay.seconds * pow(multiplier, Double(max(0, attempt - 1)))
        seconds = min(seconds, maximumDelay.seconds) * random
        var delay = Duration.milliseconds(Int64(seconds * 1000))
        if let retryAfter, retryAfter > delay { delay = min(retryAfter, max(maximumDelay, delay)) }
        return delay
    }

    private func pow(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(exponent) { result *= base }
        return result
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
