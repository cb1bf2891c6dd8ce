public import Foundation
import Synchronization

/// The silences: creating, updating and expiring them under Alertmanager's
/// rules, and deciding which alerts they mute.
///
/// Time is never read from a clock: every operation takes `now`, so the
/// caller decides what time it is (tests pass explicit dates).
///
/// Threading: safe to call from any thread or task. The silences sit behind
/// one `Mutex`; each call holds it once, for its whole read or
/// read-modify-write, so an update and the expiry of the silence it
/// replaces are seen together or not at all.
public final class Silencer: Sendable {
    /// Alertmanager's default `--data.retention`: how long expired silences are kept.
    public static let defaultRetention: Duration = .seconds(120 * 60 * 60)

    private let silences: Mutex<[String: Silence]>
    /// Receives every change, for the state store.
    private let journal: StateJournal?
    /// Set (under the `silences` lock) by `close()`; read under it by every change.
    private let closed = Atomic<Bool>(false)

    /// Starts from `silences` as they are (a snapshot from `all`), without
    /// validating them; when ids repeat, the last one wins.
    public init(silences: [Silence] = [], journal: StateJournal? = nil) {
        self.journal = journal
        var byID: [String: Silence] = [:]
        for silence in silences {
            byID[silence.id] = silence
        }
        self.silences = Mutex(byID)
    }

    /// Puts back silences loaded from a state store at start-up (not journaled).
    public func restore(_ restored: [Silence]) {
        silences.withLock { stored in
            for silence in restored { stored[silence.id] = silence }
        }
    }

    /// Replaces every silence with `silences` (not journaled): a new owner
    /// taking over the shared state (docs/ARCHITECTURE.md, High availability).
    public func replaceAll(_ replacement: [Silence]) {
        silences.withLock { stored in
            stored = [:]
            for silence in replacement { stored[silence.id] = silence }
        }
    }

    /// Forgets a silence (not journaled): a standby following the shared
    /// state, where the owner removed it.
    public func forget(id: String) {
        _ = silences.withLock { $0.removeValue(forKey: id) }
    }

    /// Refuses every later change with `.unavailable`: called at shutdown
    /// right before the final state write, so a silence posted after it gets
    /// an error instead of a 200 for a silence the next process never sees.
    /// Returns after any change in progress has reached the journal.
    public func close() {
        silences.withLock { _ in closed.store(true, ordering: .sequentiallyConsistent) }
    }

    /// Creates or updates a silence and returns the id in force afterwards.
    ///
    /// With an empty `id`, creates a silence with a fresh id. With the id of
    /// a stored silence, updates it in place (same id) when the change
    /// leaves the record of what was muted until `now` intact, which is
    /// Alertmanager's `canUpdate`:
    /// - the matchers are equal, in the same order;
    /// - an active silence keeps its `startsAt` (to the second) and gets an
    ///   `endsAt` not before `now`;
    /// - a pending silence gets a `startsAt` not before `now`;
    /// - an expired silence is never changed.
    /// Otherwise the stored silence is expired (unless it already is) and the
    /// new one is created under a new id.
    ///
    /// A created silence whose `startsAt` is before `now` starts at `now`,
    /// and its `endsAt` must be after `now`. `updatedAt` is set to `now`.
    ///
    /// Throws `.invalid` when the silence breaks a validation rule (see
    /// `Silence`) and `.notFound` for an unknown id; nothing changes then.
    @discardableResult
    public func upsert(_ silence: Silence, now: Date) throws(SilenceError) -> String {
        try silence.validate()
        return try silences.withLock { (stored: inout [String: Silence]) throws(SilenceError) -> String in
            guard !closed.load(ordering: .sequentiallyConsistent) else { throw .unavailable }
            let previous: Silence?
            if silence.id.isEmpty {
                previous = nil
            } else {
                guard let found = stored[silence.id] else { throw .notFound(silence.id) }
                previous = found
            }

            if let previous, Self.canUpdate(previous, to: silence, now: now) {
                var updated = silence
                if previous.state(at: now) == .active {
                    // Equal to the second; keep the stored instant exactly.
                    updated.startsAt = previous.startsAt
                }
                updated.updatedAt = now
                stored[updated.id] = updated
                journal?.append(.silenceUpserted(updated))
                return updated.id
            }

            guard silence.endsAt > now else {
                throw .invalid("end time \(Silence.format(silence.endsAt)) is not in the future")
            }
            var created = silence
            created.id = UUID().uuidString.lowercased()
            if created.startsAt < now {
                created.startsAt = now
            }
            created.updatedAt = now
            if let previous, previous.state(at: now) != .expired {
                stored[previous.id] = Self.expired(previous, now: now)
                journal?.append(.silenceUpserted(stored[previous.id]!))
            }
            stored[created.id] = created
            journal?.append(.silenceUpserted(created))
            return created.id
        }
    }

    /// Ends a silence at `now`: an active one gets `endsAt = now`, a pending
    /// one `startsAt = endsAt = now`; `updatedAt` becomes `now`.
    ///
    /// Throws `.notFound` for an unknown id and `.alreadyExpired` for a
    /// silence that has already expired.
    public func expire(id: String, now: Date) throws(SilenceError) {
        try silences.withLock { (stored: inout [String: Silence]) throws(SilenceError) in
            guard !closed.load(ordering: .sequentiallyConsistent) else { throw .unavailable }
            guard let silence = stored[id] else { throw .notFound(id) }
            guard silence.state(at: now) != .expired else { throw .alreadyExpired(id) }
            stored[id] = Self.expired(silence, now: now)
            journal?.append(.silenceUpserted(stored[id]!))
        }
    }

    /// The stored silence with this id, whatever its state.
    public func silence(id: String) -> Silence? {
        silences.withLock { $0[id] }
    }

    /// The ids, sorted, of the silences active at `now` whose matchers all
    /// match `labels`; empty when the alert is not muted.
    public func mutes(_ labels: LabelSet, at now: Date) -> [String] {
        silences.withLock { stored in
            stored.values.compactMap { silence in
                silence.state(at: now) == .active && silence.matches(labels) ? silence.id : nil
            }
        }.sorted()
    }

    /// The silences in `state` at `now` (all when nil) that carry every
    /// matcher of `filter`, in the order Alertmanager's API lists them.
    ///
    /// A filter matcher is carried when the silence has a matcher with the
    /// same name, type and value (Alertmanager's
    /// `CheckSilenceMatchesFilterLabels`); `service="api"` selects silences
    /// written with `service="api"`, not those with `service=~"api|web"`.
    ///
    /// Order (Alertmanager's `SortSilences`): active by `endsAt` ascending,
    /// then pending by `startsAt` ascending, then expired by `endsAt`
    /// descending; ties by id.
    public func list(at now: Date, state: SilenceState? = nil, matching filter: [Matcher] = []) -> [Silence] {
        let selected = silences.withLock { stored in
            stored.values.filter { silence in
                (state == nil || silence.state(at: now) == state)
                    && filter.allSatisfy { silence.matchers.contains($0) }
            }
        }
        return selected
            .map { (silence: $0, state: $0.state(at: now)) }
            .sorted { Self.listedBefore($0.silence, $0.state, $1.silence, $1.state) }
            .map(\.silence)
    }

    /// Removes the silences that expired `retention` or longer ago, that is
    /// those with `endsAt + retention <= now` (Alertmanager removes a
    /// silence once its `endsAt + retention` is not after `now`), and
    /// returns how many were removed. Silences that have not expired at
    /// `now` are kept whatever `retention` is.
    @discardableResult
    public func collectGarbage(at now: Date, retention: Duration = Silencer.defaultRetention) -> Int {
        let (seconds, attoseconds) = retention.components
        let kept = TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
        return silences.withLock { stored in
            let doomed = stored.values.filter { silence in
                silence.state(at: now) == .expired && silence.endsAt.addingTimeInterval(kept) <= now
            }
            for silence in doomed {
                stored[silence.id] = nil
                journal?.append(.silenceRemoved(id: silence.id))
            }
            return doomed.count
        }
    }

    /// Every stored silence, ordered by id: a snapshot that `init(silences:)`
    /// restores.
    public var all: [Silence] {
        silences.withLock { Array($0.values) }.sorted { $0.id < $1.id }
    }

    /// How many silences are in each state at `now`; every state is present,
    /// with 0 when none is in it.
    public func count(at now: Date) -> [SilenceState: Int] {
        silences.withLock { stored in
            var counts: [SilenceState: Int] = [.active: 0, .pending: 0, .expired: 0]
            for silence in stored.values {
                counts[silence.state(at: now), default: 0] += 1
            }
            return counts
        }
    }

    /// Alertmanager's `canUpdate`: whether `old` may become `new` in place
    /// without rewriting what was muted before `now`.
    private static func canUpdate(_ old: Silence, to new: Silence, now: Date) -> Bool {
        guard old.matchers == new.matchers else { return false }
        switch old.state(at: now) {
        case .active:
            return wholeSeconds(old.startsAt) == wholeSeconds(new.startsAt) && new.endsAt >= now
        case .pending:
            return new.startsAt >= now
        case .expired:
            return false
        }
    }

    private static func wholeSeconds(_ date: Date) -> Double {
        date.timeIntervalSince1970.rounded(.down)
    }

    /// `silence` ended at `now`; the caller knows it has not expired yet.
    private static func expired(_ silence: Silence, now: Date) -> Silence {
        var ended = silence
        if silence.state(at: now) == .pending {
            ended.startsAt = now
        }
        ended.endsAt = now
        ended.updatedAt = now
        return ended
    }

    private static func listedBefore(_ a: Silence, _ aState: SilenceState, _ b: Silence, _ bState: SilenceState) -> Bool {
        if aState != bState {
            return rank(aState) < rank(bState)
        }
        let (aKey, bKey): (Date, Date)
        switch aState {
        case .active: (aKey, bKey) = (a.endsAt, b.endsAt)
        case .pending: (aKey, bKey) = (a.startsAt, b.startsAt)
        case .expired: (aKey, bKey) = (b.endsAt, a.endsAt)
        }
        if aKey != bKey { return aKey < bKey }
        return a.id < b.id
    }

    private static func rank(_ state: SilenceState) -> Int {
        switch state {
        case .active: 0
        case .pending: 1
        case .expired: 2
        }
    }
}
