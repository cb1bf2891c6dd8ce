public import struct Foundation.Date

/// The alerts of one route that share the values of its `group_by` labels,
/// notified together, with Alertmanager's timers: the first flush
/// `group_wait` after the group forms, then one every `group_interval`.
public struct AggregationGroup: Sendable {
    struct Member: Sendable {
        var alert: Alert
        /// Bumped on every insert, so a flush removes a resolved alert only
        /// if nothing re-inserted it meanwhile (Alertmanager's DeleteIfNotModified).
        var version: Int
    }

    public let route: Route
    public let labels: LabelSet
    /// `<route key>:<group labels>`, Alertmanager's group key.
    public let key: String
    var members: [Fingerprint: Member] = [:]
    public internal(set) var nextFlush: Date
    public internal(set) var hasFlushed = false
    private var version = 0

    init(route: Route, labels: LabelSet, createdAt: Date) {
        self.route = route
        self.labels = labels
        self.key = Self.key(route: route, labels: labels)
        self.nextFlush = createdAt.addingTimeInterval(route.groupWait.seconds)
    }

    /// `<route key>:<group labels as prometheus/common prints them>`, byte
    /// for byte the key Alertmanager builds (and sends as `groupKey`).
    public static func key(route: Route, labels: LabelSet) -> String {
        route.key + ":" + labels.goDescription
    }

    public var alerts: [Alert] {
        members.values.map(\.alert).sorted { $0.fingerprint < $1.fingerprint }
    }

    public var isEmpty: Bool { members.isEmpty }

    /// Adds or replaces an alert. An alert older than `group_wait` arriving
    /// before the first flush triggers the flush now (Alertmanager's rule),
    /// so a restart or a late joiner is not held back for nothing.
    mutating func insert(_ alert: Alert, now: Date) {
        version += 1
        members[alert.fingerprint] = Member(alert: alert, version: version)
        if !hasFlushed, alert.startsAt.addingTimeInterval(route.groupWait.seconds) <= now, nextFlush > now {
            nextFlush = now
        }
    }

    /// The members as of a flush, with their versions.
    func snapshot() -> [(Alert, Int)] {
        members.values.map { ($0.alert, $0.version) }.sorted { $0.0.fingerprint < $1.0.fingerprint }
    }

    /// After a flush: forgets resolved alerts that were not re-inserted since the snapshot.
    mutating func removeNotified(_ snapshot: [(Alert, Int)]) {
        for (alert, version) in snapshot where !alert.isFiring {
            if members[alert.fingerprint]?.version == version {
                members[alert.fingerprint] = nil
            }
        }
    }

    /// Schedules the next flush after one at `flushedAt`.
    mutating func scheduleNext(after flushedAt: Date) {
        hasFlushed = true
        nextFlush = flushedAt.addingTimeInterval(route.groupInterval.seconds)
    }
}
