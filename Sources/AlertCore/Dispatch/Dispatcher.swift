public import struct Foundation.Date

/// Routes alerts into aggregation groups (Alertmanager's `dispatch.go`).
/// Not thread-safe: owned by the engine.
public struct Dispatcher: Sendable {
    public private(set) var root: Route
    /// Keyed by the group key's bytes: two keys that differ only in Unicode
    /// normalization are two groups, as in Alertmanager (Go map of strings).
    private(set) var groups: [GroupKeyBytes: AggregationGroup] = [:]
    /// Every group's next flush (docs/ARCHITECTURE.md, "Aggregation groups").
    private var schedule = FlushSchedule()
    private var nextToken: UInt64 = 0
    /// Per route, the group labels and key built last (`groupKey`).
    private var lastGroupKey: [ObjectIdentifier: (route: Route, labels: LabelSet, key: GroupKeyBytes)] = [:]

    /// A group key hashed and compared as UTF-8 bytes, not by Swift's
    /// canonical equivalence.
    struct GroupKeyBytes: Hashable, Sendable {
        let text: String
        init(_ text: String) { self.text = text }
        static func == (lhs: Self, rhs: Self) -> Bool { lhs.text.utf8.elementsEqual(rhs.text.utf8) }
        func hash(into hasher: inout Hasher) {
            var text = text
            text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }

    /// The group with this key, if any (a read: callers that change a group
    /// take it out with `takeGroup` and put it back with `putBack`).
    subscript(groupKey key: String) -> AggregationGroup? {
        groups[GroupKeyBytes(key)]
    }

    public init(root: Route) {
        self.root = root
    }

    /// Puts an alert (firing or just resolved) into the group of every route it matches.
    mutating func insert(_ alert: Alert, now: Date) {
        for route in root.match(alert.labels) {
            let (labels, key) = groupKey(route, alert.labels)
            var created = false
            if groups[key] == nil {
                groups[key] = AggregationGroup(route: route, labels: labels, createdAt: now)
                created = true
            }
            // In place: the member table is never copied.
            let moved = groups[key]!.insert(alert, now: now)
            if created || moved { reschedule(key) }
        }
    }

    /// The group labels and key of an alert on `route`. The last ones built
    /// per route are kept: a storm or a restore brings many alerts of one
    /// group in a row, and comparing their group-by values (as bytes, like
    /// the key) costs less than building the key string again
    /// (`LabelSet.goDescription`, docs/ARCHITECTURE.md, Aggregation groups).
    /// The route object is held with them, so its identifier is not reused.
    private mutating func groupKey(_ route: Route, _ alertLabels: LabelSet) -> (LabelSet, GroupKeyBytes) {
        let id = ObjectIdentifier(route)
        if let last = lastGroupKey[id], last.route === route, route.hasGroupLabels(last.labels, alertLabels) {
            return (last.labels, last.key)
        }
        let labels = route.groupLabels(for: alertLabels)
        let key = GroupKeyBytes(AggregationGroup.key(route: route, labels: labels))
        lastGroupKey[id] = (route, labels, key)
        return (labels, key)
    }

    /// Takes a group out for a flush, so changing it copies nothing; give
    /// it back with `putBack`.
    mutating func takeGroup(_ key: String) -> AggregationGroup? {
        let group = groups.removeValue(forKey: GroupKeyBytes(key))
        if group != nil { dropStaleEntries() }
        return group
    }

    /// Puts back a group taken out, with its (possibly new) flush time; an
    /// empty group is dropped.
    mutating func putBack(_ group: AggregationGroup) {
        guard !group.isEmpty else { return }
        let key = GroupKeyBytes(group.key)
        groups[key] = group
        reschedule(key)
    }

    /// The groups due by `now`, earliest first, ties in key byte order,
    /// taken off the schedule: the caller flushes each (a flush puts the
    /// group back with its next time). Costs O(log groups) per group due.
    mutating func takeDueGroups(by now: Date) -> [(key: String, at: Date)] {
        var due: [(key: String, at: Date)] = []
        while let first = schedule.first, first.at <= now {
            schedule.popFirst()
            if isCurrent(first) {
                due.append((first.key.text, first.at))
                // Off the schedule until the flush puts the group back.
                groups[first.key]!.scheduleToken = 0
            }
        }
        dropStaleEntries()
        return due.sorted { $0.at != $1.at ? $0.at < $1.at : Self.bytesPrecede($0.key, $1.key) }
    }

    /// Byte order of the UTF-8 encodings (Go's string order), on the
    /// contiguous bytes (the generic `utf8` view is slow unspecialized).
    static func bytesPrecede(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                for index in 0..<min(x.count, y.count) where x[index] != y[index] {
                    return x[index] < y[index]
                }
                return x.count < y.count
            }
        }
    }

    /// When the next flush of any group is due (the top of the schedule,
    /// which never holds a stale entry there).
    public var nextFlush: Date? {
        schedule.first?.at
    }

    /// Gives a group a new schedule entry for its current `nextFlush`; the
    /// previous one becomes stale.
    private mutating func reschedule(_ key: GroupKeyBytes) {
        nextToken += 1
        groups[key]!.scheduleToken = nextToken
        schedule.push(FlushSchedule.Entry(at: groups[key]!.nextFlush, key: key, token: nextToken))
        dropStaleEntries()
    }

    private func isCurrent(_ entry: FlushSchedule.Entry) -> Bool {
        groups[entry.key]?.scheduleToken == entry.token
    }

    /// Keeps the top of the schedule live, and rebuilds the heap when stale
    /// entries outnumber the groups (each change leaves one behind).
    private mutating func dropStaleEntries() {
        while let first = schedule.first, !isCurrent(first) { schedule.popFirst() }
        if schedule.count > 2 * groups.count + 64 { rebuildSchedule() }
    }

    private mutating func rebuildSchedule() {
        schedule.removeAll()
        for key in groups.keys where groups[key]!.scheduleToken != 0 {
            nextToken += 1
            groups[key]!.scheduleToken = nextToken
            schedule.push(FlushSchedule.Entry(at: groups[key]!.nextFlush, key: key, token: nextToken))
        }
    }

    public var allGroups: [AggregationGroup] {
        groups.values.sorted { Self.bytesPrecede($0.key, $1.key) }
    }

    /// Swaps in a new routing tree: every alert is routed again; a group
    /// whose key survives keeps its timers, so a reload neither delays nor
    /// hurries a notification.
    mutating func replaceRoot(_ newRoot: Route, alerts: [Alert], now: Date) {
        let old = groups
        root = newRoot
        groups = [:]
        for alert in alerts {
            insert(alert, now: now)
        }
        for key in groups.keys {
            if let previous = old[key] {
                groups[key]!.nextFlush = previous.nextFlush
                groups[key]!.hasFlushed = previous.hasFlushed
                groups[key]!.mutedAtLastFlush = previous.mutedAtLastFlush
            }
        }
        schedule.removeAll()
        for key in groups.keys { groups[key]!.scheduleToken = 1 }
        rebuildSchedule()
    }
}
