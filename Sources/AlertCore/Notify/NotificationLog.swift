public import struct Foundation.Date
import Synchronization

/// What was last notified to one integration of a receiver for an
/// aggregation group: the fingerprints that were firing and resolved, and
/// when. Alertmanager's notification log entry, keyed as Alertmanager keys it:
/// receiver, integration (kind and index) and group.
public struct NotificationLogEntry: Sendable, Equatable, Codable {
    public var receiver: String
    /// `webhook/0`, `slack/1`, …; empty for a receiver without integrations
    /// (it only logs) and for entries written before the log was per integration.
    public var integration: String
    public var groupKey: String
    public var firing: Set<Fingerprint>
    public var resolved: Set<Fingerprint>
    public var timestamp: Date
    public var expiresAt: Date

    public init(receiver: String, integration: String = "", groupKey: String, firing: Set<Fingerprint>, resolved: Set<Fingerprint>,
                timestamp: Date, expiresAt: Date) {
        self.receiver = receiver
        self.integration = integration
        self.groupKey = groupKey
        self.firing = firing
        self.resolved = resolved
        self.timestamp = timestamp
        self.expiresAt = expiresAt
    }

    private enum CodingKeys: String, CodingKey { case receiver, integration, groupKey, firing, resolved, timestamp, expiresAt }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        receiver = try container.decode(String.self, forKey: .receiver)
        integration = try container.decodeIfPresent(String.self, forKey: .integration) ?? ""
        groupKey = try container.decode(String.self, forKey: .groupKey)
        firing = try container.decode(Set<Fingerprint>.self, forKey: .firing)
        resolved = try container.decode(Set<Fingerprint>.self, forKey: .resolved)
        timestamp = try container.decode(Date.self, forKey: .timestamp)
        expiresAt = try container.decode(Date.self, forKey: .expiresAt)
    }

    /// The receiver and integration as one name (`team/webhook/0`), what a
    /// state store keys the entry by together with the group key.
    public var receiverIntegration: String {
        integration.isEmpty ? receiver : receiver + "/" + integration
    }

    /// Whether every alert firing now was already firing at the last notification.
    public func isFiringSuperset(of firing: Set<Fingerprint>) -> Bool {
        firing.isSubset(of: self.firing)
    }

    /// Whether every alert resolved now was already reported resolved.
    public func isResolvedSuperset(of resolved: Set<Fingerprint>) -> Bool {
        resolved.isSubset(of: self.resolved)
    }
}

extension Fingerprint: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Fingerprint(hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a fingerprint: \(text)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The notification log: makes notification decisions idempotent. Keyed by
/// (receiver, integration, group key). Safe from any thread.
public final class NotificationLog: Sendable {
    private struct Key: Hashable {
        var receiver: String
        var integration: String
        var groupKey: String

        init(receiver: String, integration: String, groupKey: String) {
            self.receiver = receiver
            self.integration = integration
            self.groupKey = groupKey
        }

        init(_ entry: NotificationLogEntry) {
            self.init(receiver: entry.receiver, integration: entry.integration, groupKey: entry.groupKey)
        }

        /// Byte equality, as Go compares strings: two group keys that differ
        /// only in Unicode normalization are two groups with two entries.
        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.receiver.utf8.elementsEqual(rhs.receiver.utf8) && lhs.integration.utf8.elementsEqual(rhs.integration.utf8)
                && lhs.groupKey.utf8.elementsEqual(rhs.groupKey.utf8)
        }

        func hash(into hasher: inout Hasher) {
            for text in [receiver, integration, groupKey] {
                var text = text
                text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
                hasher.combine(0xff as UInt8)
            }
        }
    }

    private let entries = Mutex<[Key: NotificationLogEntry]>([:])
    /// How long an entry is kept after its last notification (Alertmanager: 120h).
    public let retention: Duration

    private let journal: StateJournal?

    public init(retention: Duration = .seconds(120 * 3600), entries: [NotificationLogEntry] = [], journal: StateJournal? = nil) {
        self.retention = retention
        self.journal = journal
        self.entries.withLock { map in
            for entry in entries { map[Key(entry)] = entry }
        }
    }

    /// Puts back entries loaded from a state store at start-up (not journaled).
    public func restore(_ restored: [NotificationLogEntry]) {
        entries.withLock { map in
            for entry in restored { map[Key(entry)] = entry }
        }
    }

    /// Replaces every entry with `replacement` (not journaled): a new owner
    /// taking over the shared state (docs/ARCHITECTURE.md, High availability).
    public func replaceAll(_ replacement: [NotificationLogEntry]) {
        entries.withLock { map in
            map = [:]
            for entry in replacement { map[Key(entry)] = entry }
        }
    }

    public func entry(receiver: String, integration: String = "", groupKey: String) -> NotificationLogEntry? {
        entries.withLock { $0[Key(receiver: receiver, integration: integration, groupKey: groupKey)] }
    }

    /// Records a notification (or a decision that it was not needed for
    /// resolved-only changes, as Alertmanager does).
    ///
    /// - Parameter keepWhileFiring: keep the entry, however old, as long as
    ///   it records firing alerts (for `repeat_interval: never`: an expired
    ///   entry would make the next flush notify the same alerts again). Once
    ///   a later entry records nothing firing, normal retention applies.
    @discardableResult
    public func log(receiver: String, integration: String = "", groupKey: String, firing: Set<Fingerprint>, resolved: Set<Fingerprint>,
                    at now: Date, keepWhileFiring: Bool = false) -> NotificationLogEntry {
        let expiresAt = keepWhileFiring && !firing.isEmpty ? Date.distantFuture : now.addingTimeInterval(retention.seconds)
        let entry = NotificationLogEntry(
            receiver: receiver, integration: integration, groupKey: groupKey, firing: firing, resolved: resolved,
            timestamp: now, expiresAt: expiresAt
        )
        entries.withLock { $0[Key(entry)] = entry }
        journal?.append(.notificationLogged(entry))
        return entry
    }

    /// A notification was given up (permanent failure, retry deadline,
    /// dead-lettered): its entry is put back to the one it was decided
    /// against (removed if there was none), so the next flush notifies again
    /// — the effect of Alertmanager writing its log only after a successful
    /// send. Nothing changes if a later decision replaced the entry already.
    /// True when the entry was put back.
    @discardableResult
    public func revert(_ notification: Notification) -> Bool {
        let key = Key(receiver: notification.receiver, integration: notification.integration ?? "", groupKey: notification.groupKey)
        let reverted: Bool = entries.withLock { map in
            guard let current = map[key], current.timestamp == notification.timestamp else { return false }
            map[key] = notification.previousLogEntry
            return true
        }
        guard reverted else { return false }
        if let previous = notification.previousLogEntry {
            journal?.append(.notificationLogged(previous))
        } else {
            journal?.append(.notificationLogRemoved(receiver: receiverIntegration(notification), groupKey: notification.groupKey))
        }
        return true
    }

    private func receiverIntegration(_ notification: Notification) -> String {
        NotificationLogEntry(receiver: notification.receiver, integration: notification.integration ?? "", groupKey: notification.groupKey,
                             firing: [], resolved: [], timestamp: notification.timestamp, expiresAt: notification.timestamp).receiverIntegration
    }

    /// Drops expired entries; returns how many.
    @discardableResult
    public func collectGarbage(now: Date) -> Int {
        let removed: [NotificationLogEntry] = entries.withLock { map in
            let expired = map.values.filter { $0.expiresAt <= now }
            for entry in expired { map[Key(entry)] = nil }
            return expired
        }
        journal?.append(contentsOf: removed.map { .notificationLogRemoved(receiver: $0.receiverIntegration, groupKey: $0.groupKey) })
        return removed.count
    }

    public var all: [NotificationLogEntry] {
        entries.withLock { Array($0.values) }.sorted { ($0.receiver, $0.integration, $0.groupKey) < ($1.receiver, $1.integration, $1.groupKey) }
    }
}
