public import struct Foundation.Date

/// An alert as it goes out in a notification, with its marks.
public struct NotifiedAlert: Sendable, Equatable, Codable {
    public var alert: Alert
    /// Silences muting it (non-empty only for a resolve sent while muted).
    public var silencedBy: [String]
    /// Alerts inhibiting it (likewise).
    public var inhibitedBy: [Fingerprint]

    public init(alert: Alert, silencedBy: [String] = [], inhibitedBy: [Fingerprint] = []) {
        self.alert = alert
        self.silencedBy = silencedBy
        self.inhibitedBy = inhibitedBy
    }
}

/// What the engine asks a receiver to send: one aggregation group's current
/// firing and newly resolved alerts. The notifiers render and deliver it.
public struct Notification: Sendable, Equatable, Codable {
    public var receiver: String
    /// The one integration of the receiver this is for (`webhook/0`); nil
    /// for a receiver without integrations.
    public var integration: String?
    /// Alertmanager's group key: `<route key>:<group labels>`.
    public var groupKey: String
    public var groupLabels: LabelSet
    public var firing: [NotifiedAlert]
    public var resolved: [NotifiedAlert]
    /// Whether the receiver wants resolved alerts sent (`send_resolved`);
    /// `resolved` is still filled so the notification log stays exact.
    public var sendResolved: Bool
    /// When the group was flushed (the engine's clock).
    public var timestamp: Date
    /// The decision's identity: the same for the same decision taken again
    /// (after a crash the engine re-decides from the state it had), different
    /// for anything new, including a repeat after `repeat_interval`. The
    /// durable outbox uses it to drop a re-published or redelivered copy.
    public var id: String
    /// The integration's notification-log entry the decision was taken
    /// against (nil: never notified). If delivery is given up, the log is put
    /// back to it (`NotificationLog.revert`), so the next flush decides again
    /// as if this notification had never been decided — Alertmanager writes
    /// its log only after a successful send.
    public var previousLogEntry: NotificationLogEntry?

    /// - Parameter previous: when the receiver was last notified for this
    ///   group (the notification log entry the decision was taken against).
    public init(receiver: String, integration: String? = nil, groupKey: String, groupLabels: LabelSet, firing: [NotifiedAlert],
                resolved: [NotifiedAlert], sendResolved: Bool, timestamp: Date, previous: Date? = nil,
                previousLogEntry: NotificationLogEntry? = nil) {
        self.previousLogEntry = previousLogEntry
        self.receiver = receiver
        self.integration = integration
        self.groupKey = groupKey
        self.groupLabels = groupLabels
        self.firing = firing
        self.resolved = resolved
        self.sendResolved = sendResolved
        self.timestamp = timestamp
        self.id = Self.decisionID(receiver: receiver + (integration.map { "/" + $0 } ?? ""), groupKey: groupKey,
                                  firing: firing.map(\.alert.fingerprint),
                                  resolved: resolved.map(\.alert.fingerprint), previous: previous)
    }

    /// FNV-1a 64 over receiver, group key, the sorted firing and resolved
    /// fingerprints and the previous notification's time (milliseconds).
    static func decisionID(receiver: String, groupKey: String, firing: [Fingerprint], resolved: [Fingerprint], previous: Date?) -> String {
        var hash = FNV1a64()
        hash.add(receiver)
        hash.add(byte: 0xff)
        hash.add(groupKey)
        hash.add(byte: 0xff)
        for fingerprint in firing.sorted() { hash.addHex(fingerprint) }
        hash.add(byte: 0xff)
        for fingerprint in resolved.sorted() { hash.addHex(fingerprint) }
        hash.add(byte: 0xff)
        if let previous { hash.add(String(Int64((previous.timeIntervalSince1970 * 1000).rounded()))) }
        return Fingerprint(rawValue: hash.value).description
    }

    /// Labels every alert of the notification shares.
    public var commonLabels: LabelSet {
        let all = (firing + resolved).map(\.alert.labels)
        guard let first = all.first else { return LabelSet() }
        return LabelSet(first.labels.filter { label in all.allSatisfy { $0[label.name] == label.value } }.map { ($0.name, $0.value) })
    }
}

extension FNV1a64 {
    /// Hashes `fingerprint.description` (16 lowercase hex digits) without
    /// building the string: a flush of a million alerts hashes a million.
    mutating func addHex(_ fingerprint: Fingerprint) {
        for shift in stride(from: 60, through: 0, by: -4) {
            let digit = UInt8(truncatingIfNeeded: (fingerprint.rawValue >> UInt64(shift)) & 0xf)
            add(byte: digit < 10 ? 0x30 + digit : 0x57 + digit)
        }
    }
}
