public import struct Foundation.Date

/// An alert as it goes out in a notification, with its marks.
public struct NotifiedAlert: Sendable, Equatable {
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
public struct Notification: Sendable, Equatable {
    public var receiver: String
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

    public init(receiver: String, groupKey: String, groupLabels: LabelSet, firing: [NotifiedAlert], resolved: [NotifiedAlert], sendResolved: Bool, timestamp: Date) {
        self.receiver = receiver
        self.groupKey = groupKey
        self.groupLabels = groupLabels
        self.firing = firing
        self.resolved = resolved
        self.sendResolved = sendResolved
        self.timestamp = timestamp
    }

    /// Labels every alert of the notification shares.
    public var commonLabels: LabelSet {
        let all = (firing + resolved).map(\.alert.labels)
        guard let first = all.first else { return LabelSet() }
        return LabelSet(first.labels.filter { label in all.allSatisfy { $0[label.name] == label.value } }.map { ($0.name, $0.value) })
    }
}
