public import AlertCore
public import Logging
import Foundation

/// One integration's queue and worker: notifications are delivered one at a
/// time, in order, with retries, so a slow or dead receiver delays only its
/// own queue — never ingest, the engine, or other receivers.
///
/// Threading: `enqueue` may be called from any task; `run()` is the worker
/// and returns when the queue is finished and drained (or cancelled).
public final class IntegrationWorker: Sendable {
    public let receiver: String
    public let integration: any Integration
    /// Position among the receiver's integrations of the same kind.
    public let index: Int
    public let capacity: Int
    private let policy: RetryPolicy
    private let statistics: DeliveryStatistics
    private let logger: Logger
    private let stream: AsyncStream<AlertCore.Notification>
    private let continuation: AsyncStream<AlertCore.Notification>.Continuation
    private var key: DeliveryStatistics.Key { .init(receiver: receiver, integration: integration.kind) }
    /// Told about a notification given up for good (not about one cancelled
    /// at shutdown): the runtime puts the notification log back.
    private let onGivenUp: (@Sendable (AlertCore.Notification) -> Void)?
    private let history: NotificationHistory?

    public var address: IntegrationAddress { IntegrationAddress(receiver: receiver, kind: integration.kind, index: index) }
    /// `webhook/0`: the name notifications address this integration by.
    public var name: String { address.name }

    /// Whether a notification is for this integration (one without an
    /// integration goes to every integration of its receiver).
    public func accepts(_ notification: AlertCore.Notification) -> Bool {
        notification.integration.map { $0 == name } ?? true
    }

    public init(receiver: String, integration: any Integration, index: Int = 0, policy: RetryPolicy, statistics: DeliveryStatistics,
                capacity: Int = 10_000, logger: Logger, onGivenUp: (@Sendable (AlertCore.Notification) -> Void)? = nil,
                history: NotificationHistory? = nil) {
        self.onGivenUp = onGivenUp
        self.history = history
        self.receiver = receiver
        self.integration = integration
        self.index = index
        self.policy = policy
        self.statistics = statistics
        self.capacity = capacity
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(of: AlertCore.Notification.self, bufferingPolicy: .bufferingOldest(capacity))
    }

    /// Queues a notification; false (logged and counted) when the queue is full.
    @discardableResult
    public func enqueue(_ notification: AlertCore.Notification) -> Bool {
        switch continuation.yield(notification) {
        case .enqueued:
            statistics.update(key) { $0.queued += 1 }
            return true
        case .dropped:
            statistics.update(key) { $0.dropped += 1 }
            logger.error("notification dropped: the queue is full", metadata: metadata(notification))
            return false
        case .terminated:
            return false
        @unknown default:
            return false
        }
    }

    /// No more notifications; `run` delivers what is queued and returns.
    public func finish() {
        continuation.finish()
    }

    public func run() async {
        for await notification in stream {
            statistics.update(key) { $0.queued -= 1 }
            if case .failed(_, _, _, cancelled: false) = await deliver(notification) { onGivenUp?(notification) }
        }
    }

    /// How a delivery ended.
    public enum Outcome: Sendable, Equatable {
        case delivered(attempts: Int)
        /// Permanent failure, or retries ran past the policy's deadline (or
        /// the task was cancelled: then `cancelled` is true and the caller
        /// should leave the notification for a later attempt).
        case failed(reason: String, message: String, attempts: Int, cancelled: Bool)
    }

    /// Delivers with retries until success, a permanent failure, or the deadline.
    ///
    /// - Parameter heartbeat: called at least every `heartbeatInterval`
    ///   while waiting between attempts (the durable outbox uses it to tell
    ///   JetStream the message is still being worked on).
    @discardableResult
    func deliver(_ notification: AlertCore.Notification, heartbeatInterval: Duration = .seconds(10),
                        heartbeat: (@Sendable () -> Void)? = nil) async -> Outcome {
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start.advanced(by: policy.deadline)
        var attempt = 0
        while true {
            attempt += 1
            do throws(NotifyError) {
                try await integration.send(notification)
                statistics.update(key) { $0.delivered += 1 }
                statistics.observeLatency(integration: integration.kind, seconds: (clock.now - start).seconds)
                if attempt > 1 {
                    logger.info("notification delivered after retries", metadata: metadata(notification, ["attempts": .stringConvertible(attempt)]))
                }
                record(notification, .sent, attempts: attempt)
                return .delivered(attempts: attempt)
            } catch {
                if error.disposition == .permanent {
                    statistics.update(key) { $0.failed[error.reason, default: 0] += 1 }
                    logger.error("notification failed permanently", metadata: metadata(notification, [
                        "reason": .string(error.reason), "error": .string(error.message), "attempts": .stringConvertible(attempt),
                    ]))
                    record(notification, .failed, attempts: attempt, error: error)
                    return .failed(reason: error.reason, message: error.message, attempts: attempt, cancelled: false)
                }
                let wait = policy.delay(afterAttempt: attempt, retryAfter: error.retryAfter)
                if Task.isCancelled {
                    return .failed(reason: error.reason, message: error.message, attempts: attempt, cancelled: true)
                }
                if clock.now.advanced(by: wait) > deadline {
                    statistics.update(key) { $0.failed[error.reason, default: 0] += 1 }
                    logger.error("notification given up: retries exhausted its deadline", metadata: metadata(notification, [
                        "reason": .string(error.reason), "error": .string(error.message), "attempts": .stringConvertible(attempt),
                    ]))
                    record(notification, .failed, attempts: attempt, error: error)
                    return .failed(reason: error.reason, message: error.message, attempts: attempt, cancelled: false)
                }
                statistics.update(key) { $0.retries += 1 }
                logger.warning("notification failed; retrying", metadata: metadata(notification, [
                    "reason": .string(error.reason), "error": .string(error.message), "attempt": .stringConvertible(attempt),
                    "retry_in_ms": .stringConvertible(Int(wait.seconds * 1000)),
                ]))
                record(notification, .retrying, attempts: attempt, error: error, nextAttemptAt: Date().addingTimeInterval(wait.seconds))
                let resume = clock.now.advanced(by: wait)
                while clock.now < resume, !Task.isCancelled {
                    try? await Task.sleep(until: min(resume, clock.now.advanced(by: heartbeatInterval)), clock: clock)
                    heartbeat?()
                }
            }
        }
    }

    private func record(_ notification: AlertCore.Notification, _ outcome: NotificationHistory.Outcome, attempts: Int,
                        error: NotifyError? = nil, nextAttemptAt: Date? = nil) {
        history?.record(NotificationHistory.Entry(notification, integration: name, outcome: outcome, attempts: attempts, at: Date(),
                                                  nextAttemptAt: nextAttemptAt, reason: error?.reason, error: error?.message))
    }

    private func metadata(_ notification: AlertCore.Notification, _ extra: Logger.Metadata = [:]) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "receiver": .string(receiver), "integration": .string(integration.kind), "group_key": .string(notification.groupKey),
        ]
        metadata.merge(extra) { $1 }
        return metadata
    }
}
