public import AlertCore
public import Foundation
import Synchronization

/// What became of recent notifications, per integration: sent, retrying
/// (with the next attempt), failed, dead-lettered — the "did it go out?"
/// record that Alertmanager does not keep (docs/ARCHITECTURE.md, Delivery).
///
/// In memory and bounded: the last `capacity` outcomes of each integration.
/// Observers are called synchronously with each new entry (keep them short:
/// they run on the delivering task).
public final class NotificationHistory: Sendable {
    public enum Outcome: String, Sendable, Codable {
        case sent
        /// An attempt failed; `nextAttemptAt` says when the next one is due.
        case retrying
        /// Given up: a permanent error or the retry deadline.
        case failed
        /// Given up by the durable outbox and republished to the dead-letter subject.
        case deadLettered = "dead_lettered"
    }

    public struct Entry: Sendable, Codable, Equatable {
        /// The notification's decision id (`X-Nats-Alerter-Notification-Id`).
        public var notificationID: String
        public var receiver: String
        /// `webhook/0`.
        public var integration: String
        public var groupKey: String
        public var firing: Int
        public var resolved: Int
        /// The alerts it carried: firing, then resolved.
        public var fingerprints: [Fingerprint]
        public var outcome: Outcome
        /// Attempts so far (1 for a first-try success).
        public var attempts: Int
        public var at: Date
        public var nextAttemptAt: Date?
        /// Why it failed (`http_5xx`, `max_deliver`, …).
        public var reason: String?
        public var error: String?

        public init(_ notification: AlertCore.Notification, integration: String, outcome: Outcome, attempts: Int, at: Date,
                    nextAttemptAt: Date? = nil, reason: String? = nil, error: String? = nil) {
            notificationID = notification.id
            receiver = notification.receiver
            self.integration = integration
            groupKey = notification.groupKey
            firing = notification.firing.count
            resolved = notification.resolved.count
            fingerprints = notification.firing.map(\.alert.fingerprint) + notification.resolved.map(\.alert.fingerprint)
            self.outcome = outcome
            self.attempts = attempts
            self.at = at
            self.nextAttemptAt = nextAttemptAt
            self.reason = reason
            self.error = error
        }
    }

    private struct Key: Hashable {
        var receiver: String
        var integration: String
    }

    public let capacity: Int
    /// Per integration, oldest first, each with its place in the order of recording.
    private let entries = Mutex<(byKey: [Key: [(order: Int, entry: Entry)]], recorded: Int)>(([:], 0))
    private let observers = Mutex<[@Sendable (Entry) -> Void]>([])

    public init(capacity: Int = 200) {
        self.capacity = capacity
    }

    public func record(_ entry: Entry) {
        entries.withLock { entries in
            let key = Key(receiver: entry.receiver, integration: entry.integration)
            entries.recorded += 1
            entries.byKey[key, default: []].append((entries.recorded, entry))
            if entries.byKey[key]!.count > capacity { entries.byKey[key]!.removeFirst(entries.byKey[key]!.count - capacity) }
        }
        for observer in observers.withLock({ $0 }) { observer(entry) }
    }

    /// Recent outcomes, newest first; of one receiver when given.
    public func recent(receiver: String? = nil) -> [Entry] {
        entries.withLock { entries in
            entries.byKey.filter { receiver == nil || $0.key.receiver == receiver }.values.flatMap { $0 }
        }.sorted { $0.order > $1.order }.map(\.entry)
    }

    /// Calls `observer` with every entry recorded from now on.
    public func observe(_ observer: @escaping @Sendable (Entry) -> Void) {
        observers.withLock { $0.append(observer) }
    }
}
