import struct Foundation.Date

/// The groups' flush times in a binary min-heap, so the next deadline and
/// the groups due cost O(log groups) per change instead of a scan over every
/// group (docs/ARCHITECTURE.md, "Aggregation groups").
///
/// Entries are never updated in place: a group whose flush time moves gets a
/// new entry with a new token, and the old one becomes stale (the dispatcher
/// knows each group's current token). Stale entries are dropped when they
/// reach the top, and the heap is rebuilt when they outnumber live ones.
/// Not thread-safe: owned by the dispatcher.
struct FlushSchedule: Sendable {
    struct Entry: Sendable {
        var at: Date
        var key: Dispatcher.GroupKeyBytes
        var token: UInt64
    }

    private(set) var entries: [Entry] = []

    var count: Int { entries.count }
    var first: Entry? { entries.first }

    mutating func push(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].at < entries[parent].at else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    @discardableResult
    mutating func popFirst() -> Entry? {
        guard !entries.isEmpty else { return nil }
        entries.swapAt(0, entries.count - 1)
        let first = entries.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < entries.count, entries[left].at < entries[smallest].at { smallest = left }
            if right < entries.count, entries[right].at < entries[smallest].at { smallest = right }
            guard smallest != parent else { break }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }

    mutating func removeAll() {
        entries.removeAll()
    }
}
