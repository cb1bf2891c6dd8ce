public import struct Foundation.Date
import Synchronization

/// What was last notified to a receiver for an aggregation group: the
/// fingerprints that were firing and resolved, and when. Alertmanager's
/// notification log entry.
public struct NotificationLogEntry: Sendable, Equatable, Codable {
    public var receiver: String
    public var groupKey: String
    public var firing: Set<Fingerprint>
    public var resolved: Set<Fingerprint>
    public var timestamp: Date
    public var expiresAt: Date

    public init(receiver: String, groupKey: String, firing: Set<Fingerprint>, resolved: Set<Fingerprint>, timestamp: Date, expiresAt: Date) {
        self.receiver = receiver
        self.groupKey = groupKey
        self.firing = firing
        self.resolved = resolved
        self.timestamp = timestamp
        self.expiresAt = expiresAt
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
/// (receiver, group key). Safe from any thread.
public final class NotificationLog: Sendable {
    private struct Key: Hashable {
        var receiver: String
        var groupKey: String
    }

    private let entries = Mutex<[Key: NotificationLogEntry]>([:])
    /// How long an entry is kept after its last notification (Alertmanager: 120h).
    public let retention: Duration

    private let journal: StateJournal?

    public init(retention: Duration = .seconds(120 * 3600), entries: [NotificationLogEntry] = [], journal: StateJournal? = nil) {
        self.retention = retention
        self.journal = journal
        self.entries.withLock { map in
            for entry in entries { map[Key(receiver: entry.receiver, groupKey: entry.groupKey)] = entry }
        }
    }

    /// Puts back entries loaded from a state store at start-up (not journaled).
    public func restore(_ restored: [NotificationLogEntry]) {
        entries.withLock { map in
            for entry in restored { map[Key(receiver: entry.receiver, groupKey: entry.groupKey)] = entry }
        }
    }

    public func entry(receiver: String, groupKey: String) -> NotificationLogEntry? {
        entries.withLock { $0[Key(receiver: receiver, groupKey: groupKey)] }
    }

    /// Records a notification (or a decision that it was not needed for
    /// resolved-only changes, as Alertmanager does).
    @discardableResult
    public func log(receiver: String, groupKey: String, firing: Set<Fingerprint>, resolved: Set<Fingerprint>, at now: Date) -> NotificationLogEntry {
        let entry = NotificationLogEntry(
            receiver: receiver, groupKey: groupKey, firing: firing, resolved: resolved,
            timestamp: now, expiresAt: now.addingTimeInterval(retention.seconds)
        )
        entries.withLock { $0[Key(receiver: receiver, groupKey: groupKey)] = entry }
        journal?.append(.notificationLogged(entry))
        return entry
    }

    /// Drops expired entries; returns how many.
    @discardableResult
    public func collectGarbage(now: Date) -> Int {
        let removed: [NotificationLogEntry] = entries.withLock { map in
            let expired = map.values.filter { $0.expiresAt <= now }
            for entry in expired { map[Key(receiver: entry.receiver, groupKey: entry.groupKey)] = nil }
            return expired
        }
        journal?.append(contentsOf: removed.map { .notificationLogRemoved(receiver: $0.receiver, groupKey: $0.groupKey) })
        return removed.count
    }

    public var all: [NotificationLogEntry] {
        entries.withLock { Array($0.values) }.sorted { ($0.receiver, $0.groupKey) < ($1.receiver, $1.groupKey) }
    }
}
