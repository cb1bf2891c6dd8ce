public import Synchronization

/// Figures about the engine's state that the metrics read without waiting
/// for the engine's owner (docs/ARCHITECTURE.md, "Metrics"): the engine keeps
/// them up to date as it changes, so a scrape costs nothing per alert or
/// group. Thread-safe: atomics, written by the engine's one owner.
public final class EngineGauges: Sendable {
    /// Aggregation groups.
    public let groups = Atomic<Int>(0)
    /// Firing alerts a silence muted at their group's last flush (summed over groups).
    public let silencedFiring = Atomic<Int>(0)
    /// Firing alerts an inhibition muted at their group's last flush.
    public let inhibitedFiring = Atomic<Int>(0)

    public init() {}

    /// A group's muted counts changed at a flush.
    func replace(_ old: AggregationGroup.MutedCount, with new: AggregationGroup.MutedCount) {
        guard old != new else { return }
        silencedFiring.add(new.silenced - old.silenced, ordering: .relaxed)
        inhibitedFiring.add(new.inhibited - old.inhibited, ordering: .relaxed)
    }

    /// A group went away with its counts.
    func forget(_ counts: AggregationGroup.MutedCount) {
        replace(counts, with: AggregationGroup.MutedCount())
    }

    /// Recomputed from every group (after a reload rebuilt them).
    func reset(groups: some Collection<AggregationGroup>) {
        self.groups.store(groups.count, ordering: .relaxed)
        silencedFiring.store(groups.reduce(0) { $0 + $1.mutedAtLastFlush.silenced }, ordering: .relaxed)
        inhibitedFiring.store(groups.reduce(0) { $0 + $1.mutedAtLastFlush.inhibited }, ordering: .relaxed)
    }
}
