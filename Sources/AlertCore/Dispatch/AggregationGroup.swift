public import struct Foundation.Date

/// The alerts of one route that share the values of its `group_by` labels,
/// notified together, with Alertmanager's timers: the first flush
/// `group_wait` after the group forms, then one every `group_interval`.
///
/// Membership is by fingerprint (docs/ARCHITECTURE.md, "Aggregation
/// groups"): a firing member is its fingerprint and the start of the
/// incarnation the group was given; the alert itself stays in the store,
/// and a flush reads it from there. Only a resolved member keeps the alert
/// as it was inserted (it is flushed and dropped at the next flush, and the
/// store may forget it or start a new incarnation meanwhile). So a group of
/// a million firing alerts costs a dictionary of 16-byte entries, and an
/// insert or a flush never copies the member table.
public struct AggregationGroup: Sendable {
    public let route: Route
    public let labels: LabelSet
    /// `<route key>:<group labels>`, Alertmanager's group key.
    public let key: String
    /// Every member, firing or resolved, with the `startsAt` of the
    /// incarnation last inserted.
    private(set) var members: [Fingerprint: Date] = [:]
    /// The resolved members, as inserted (a subset of `members`).
    private(set) var resolvedMembers: [Fingerprint: Alert] = [:]
    public internal(set) var nextFlush: Date
    public internal(set) var hasFlushed = false
    /// Firing members muted at the last flush (Alertmanager's marker), for
    /// the `nats_alerter_alerts_suppressed` gauges.
    var mutedAtLastFlush = MutedCount()
    /// Which entry of the dispatcher's flush schedule is this group's current one.
    var scheduleToken: UInt64 = 0

    struct MutedCount: Sendable, Equatable {
        var silenced = 0
        var inhibited = 0
    }

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

    /// The members' fingerprints, in order.
    public var fingerprints: [Fingerprint] { members.keys.sorted() }

    public var count: Int { members.count }
    public var isEmpty: Bool { members.isEmpty }

    /// Adds or replaces an alert. An alert older than `group_wait` arriving
    /// before the first flush triggers the flush now (Alertmanager's rule),
    /// so a restart or a late joiner is not held back for nothing. Returns
    /// whether `nextFlush` moved.
    @discardableResult
    mutating func insert(_ alert: Alert, now: Date) -> Bool {
        members[alert.fingerprint] = alert.startsAt
        if alert.isFiring {
            resolvedMembers.removeValue(forKey: alert.fingerprint)
        } else {
            resolvedMembers[alert.fingerprint] = alert
        }
        if !hasFlushed, alert.startsAt.addingTimeInterval(route.groupWait.seconds) <= now, nextFlush > now {
            nextFlush = now
            return true
        }
        return false
    }

    /// The members as of a flush, in fingerprint order, with the start of
    /// their incarnation: one array of 16-byte pairs, not of alerts.
    func flushOrder() -> [(fingerprint: Fingerprint, startsAt: Date)] {
        var order: [(fingerprint: Fingerprint, startsAt: Date)] = []
        order.reserveCapacity(members.count)
        for (fingerprint, startsAt) in members { order.append((fingerprint, startsAt)) }
        order.sort { $0.fingerprint < $1.fingerprint }
        return order
    }

    /// The resolved member as inserted, if the member is resolved.
    func resolvedMember(_ fingerprint: Fingerprint) -> Alert? {
        resolvedMembers[fingerprint]
    }

    /// After a flush: forgets the resolved members (they were notified, or
    /// muted). Nothing inserts during a flush (the engine is single-owner),
    /// so Alertmanager's DeleteIfNotModified needs no version check here.
    /// Costs one step per resolved member, not per member.
    mutating func removeResolved() {
        for fingerprint in resolvedMembers.keys { members.removeValue(forKey: fingerprint) }
        resolvedMembers.removeAll()
    }

    /// Schedules the next flush after one at `flushedAt`.
    mutating func scheduleNext(after flushedAt: Date) {
        hasFlushed = true
        nextFlush = flushedAt.addingTimeInterval(route.groupInterval.seconds)
    }
}
