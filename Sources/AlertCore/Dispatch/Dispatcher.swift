public import struct Foundation.Date

/// Routes alerts into aggregation groups (Alertmanager's `dispatch.go`).
/// Not thread-safe: owned by the engine.
public struct Dispatcher: Sendable {
    public private(set) var root: Route
    /// Keyed by the group key's bytes: two keys that differ only in Unicode
    /// normalization are two groups, as in Alertmanager (Go map of strings).
    var groups: [GroupKeyBytes: AggregationGroup] = [:]

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

    subscript(groupKey key: String) -> AggregationGroup? {
        get { groups[GroupKeyBytes(key)] }
        set { groups[GroupKeyBytes(key)] = newValue }
    }

    public init(root: Route) {
        self.root = root
    }

    /// Puts an alert (firing or just resolved) into the group of every route it matches.
    mutating func insert(_ alert: Alert, now: Date) {
        for route in root.match(alert.labels) {
            let labels = route.groupLabels(for: alert.labels)
            let key = GroupKeyBytes(AggregationGroup.key(route: route, labels: labels))
            if groups[key] == nil {
                groups[key] = AggregationGroup(route: route, labels: labels, createdAt: now)
            }
            groups[key]!.insert(alert, now: now)
        }
    }

    /// The groups due by `now`, earliest first, ties in key byte order: one
    /// pass and one sort (picking the earliest one at a time was quadratic
    /// in the number of groups due together, e.g. thousands after a burst).
    func dueGroups(by now: Date) -> [(key: String, at: Date)] {
        groups.compactMap { key, group in group.nextFlush <= now ? (key.text, group.nextFlush) : nil }
            .sorted { $0.at != $1.at ? $0.at < $1.at : Self.bytesPrecede($0.key, $1.key) }
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

    /// When the next flush of any group is due.
    public var nextFlush: Date? {
        groups.values.map(\.nextFlush).min()
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
            }
        }
    }
}
