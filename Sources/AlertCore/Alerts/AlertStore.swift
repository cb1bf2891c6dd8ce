public import struct Foundation.Date
import Synchronization

/// The active alerts, keyed by identity: deduplication and resolve.
///
/// Threading: `apply` is called synchronously on the NATS delivery threads
/// (one per subscription) and is safe to call from any number of them. The
/// alerts are spread over `shardCount` shards by fingerprint, each behind its
/// own `Mutex` held only for a dictionary lookup and update. Readers (the
/// HTTP API, metrics, the resolve-timeout scan, the activity flush) walk the
/// shards one at a time, so no read holds any lock for longer than one
/// shard's share of the work: at a million alerts an API read or a scan
/// never stalls ingest (docs/ARCHITECTURE.md, "Threads").
public final class AlertStore: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Most alerts firing at once; a new alert past it is refused, and no
        /// existing alert is ever evicted to make room.
        public var maxActiveAlerts: Int

        public init(maxActiveAlerts: Int = 1_000_000) {
            self.maxActiveAlerts = maxActiveAlerts
        }
    }

    /// A firing alert in its shard's table, boxed: a table entry is then 16
    /// bytes (fingerprint, reference) instead of a 136-byte `Alert`, which a
    /// power-of-two hash table at 37–75 % load stores up to 2.7 times over
    /// (docs/ARCHITECTURE.md, Memory per alert). Only touched under the
    /// shard's lock; never handed out (readers get `Alert` copies).
    private final class Entry {
        var alert: Alert

        init(_ alert: Alert) { self.alert = alert }
    }

    private struct State {
        /// Update in place freely; insert and remove only through
        /// `insertActive` and `removeActive`, which keep `activeByType`.
        var active: [Fingerprint: Entry] = [:]
        /// Resolved alerts kept for `resolvedRetention` (for the API and for
        /// notifications that still have to report the resolve).
        var resolved: [Fingerprint: Alert] = [:]
        /// Firing alerts of this shard by alertname and severity, kept with
        /// `active` so the metrics never walk the alerts
        /// (docs/ARCHITECTURE.md, Metrics). Only types with a count are here.
        private(set) var activeByType: [ActiveAlertType: Int] = [:]

        /// Whether the alert is firing here.
        func isActive(_ fingerprint: Fingerprint) -> Bool { active[fingerprint] != nil }

        /// A firing alert.
        func activeAlert(_ fingerprint: Fingerprint) -> Alert? { active[fingerprint]?.alert }

        /// Updates a firing alert in place (a duplicate: its labels, and so its type, stay).
        func updateActive(_ fingerprint: Fingerprint, _ body: (inout Alert) -> Void) -> Bool {
            guard let entry = active[fingerprint] else { return false }
            body(&entry.alert)
            return true
        }

        mutating func insertActive(_ alert: Alert) {
            if let previous = active[alert.fingerprint] {
                count(previous.alert, -1)
                previous.alert = alert
            } else {
                active[alert.fingerprint] = Entry(alert)
            }
            count(alert, 1)
        }

        @discardableResult
        mutating func removeActive(_ fingerprint: Fingerprint) -> Alert? {
            guard let removed = active.removeValue(forKey: fingerprint)?.alert else { return nil }
            count(removed, -1)
            return removed
        }

        private mutating func count(_ alert: Alert, _ delta: Int) {
            let type = ActiveAlertType(alert.labels)
            let count = activeByType[type, default: 0] + delta
            activeByType[type] = count == 0 ? nil : count
        }
    }

    /// An alert's `alertname` and `severity` labels ("" when absent), the
    /// key of `nats_alerter_alerts_active`.
    public struct ActiveAlertType: Hashable, Sendable {
        public var alertname: String
        public var severity: String

        init(_ labels: LabelSet) {
            alertname = labels["alertname"] ?? ""
            severity = labels["severity"] ?? ""
        }
    }

    private final class Shard: Sendable {
        let state = Mutex(State())
    }

    /// A power of two; the low bits of the fingerprint pick the shard.
    static let shardCount = 64
    private let shards: [Shard]
    /// Firing alerts over all shards: the cap is checked against it without
    /// taking every shard's lock.
    private let activeTotal = Atomic<Int>(0)
    private let limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
        self.shards = (0..<Self.shardCount).map { _ in Shard() }
    }

    private func shard(_ fingerprint: Fingerprint) -> Shard {
        shards[Int(truncatingIfNeeded: fingerprint.rawValue & UInt64(Self.shardCount - 1))]
    }

    /// Claims room for one more firing alert; false at the cap.
    private func reserveActiveSlot() -> Bool {
        let after = activeTotal.add(1, ordering: .relaxed).newValue
        if after > limits.maxActiveAlerts {
            activeTotal.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Applies one event received at `receivedAt` and says what changed.
    public func apply(_ event: AlertEvent, receivedAt: Date) -> AlertTransition {
        apply(event, receivedAt: receivedAt) { _ in true }!
    }

    /// Applies one event and hands the transition it makes to `handOff` in
    /// the same step, under the alert's shard lock: transitions of one alert
    /// reach the consumer in the order the store made them, whichever
    /// threads made them (two subscriptions sharing a `dedup_key` cannot hand
    /// a FIRING and its RESOLVED over reversed), while events for other
    /// shards and duplicates (which hand nothing off) never wait on it.
    ///
    /// `handOff` is called only for `.fired`, `.resolved` and
    /// `.refusedAtCapacity`, before the store changes; if it returns false
    /// (the consumer's buffer is full) nothing changes and nil is returned,
    /// so a transition is never lost after the store recorded it. Lock
    /// order: shard, then whatever `handOff` takes; nothing takes them the
    /// other way round.
    public func apply(_ event: AlertEvent, receivedAt: Date, handOff: (AlertTransition) -> Bool) -> AlertTransition? {
        apply(event, as: event.fingerprint, receivedAt: receivedAt, handOff: handOff)
    }

    /// The same for an event addressed to an alert by its fingerprint (a
    /// RESOLVED asked for over the control API, docs/ARCHITECTURE.md,
    /// Control plane), whatever the event's own labels would give.
    public func apply(_ event: AlertEvent, as fingerprint: Fingerprint, receivedAt: Date,
                      handOff: (AlertTransition) -> Bool) -> AlertTransition? {
        let shard = shard(fingerprint)
        switch event.status {
        case .firing:
            let duplicate = shard.state.withLock { state -> Bool in
                state.updateActive(fingerprint) { $0.absorb(event, receivedAt: receivedAt) }
            }
            if duplicate { return .duplicate(fingerprint) }
            guard reserveActiveSlot() else {
                let refused = AlertTransition.refusedAtCapacity(fingerprint)
                return handOff(refused) ? refused : nil
            }
            let alert = Alert(event: event, fingerprint: fingerprint, receivedAt: receivedAt)
            let outcome = shard.state.withLock { state -> AlertTransition? in
                // Another thread may have started the same alert meanwhile.
                if state.updateActive(fingerprint, { $0.absorb(event, receivedAt: receivedAt) }) {
                    return .duplicate(fingerprint)
                }
                // An older FIRING delivered again after the alert's resolve.
                if event.occurredAtUnixMs != 0, let ended = state.resolved[fingerprint]?.endsAt,
                   event.occurredAt(receivedAt: receivedAt) <= ended {
                    return .staleFiring(fingerprint)
                }
                let fired = AlertTransition.fired(alert)
                guard handOff(fired) else { return nil }
                state.insertActive(alert)
                state.resolved[fingerprint] = nil
                return fired
            }
            if case .fired = outcome { return outcome }
            activeTotal.subtract(1, ordering: .relaxed)
            return outcome
        case .resolved:
            let outcome = shard.state.withLock { state -> AlertTransition? in
                guard var alert = state.activeAlert(fingerprint) else { return .resolveOfUnknown(fingerprint) }
                // Never later than now: `endsAt` must not rest on a publisher's clock.
                alert.endsAt = min(max(event.occurredAt(receivedAt: receivedAt), alert.startsAt), max(receivedAt, alert.startsAt))
                alert.lastSeen = receivedAt
                let annotations = event.alertAnnotations
                if !annotations.isEmpty { alert.annotations = Annotations(annotations) }
                let resolved = AlertTransition.resolved(alert)
                guard handOff(resolved) else { return nil }
                state.removeActive(fingerprint)
                state.resolved[fingerprint] = alert
                return resolved
            }
            if case .resolved = outcome { activeTotal.subtract(1, ordering: .relaxed) }
            return outcome
        }
    }

    /// The duplicate fast path (docs/ARCHITECTURE.md, Data flow, step 1):
    /// if `fingerprint` is a firing alert and `unchanged` says the event
    /// would change nothing else about it (its annotations and generator
    /// URL), folds the repeat in exactly as `apply` folds in a duplicate
    /// (`Alert.absorb`) and returns true, all under the shard lock. Otherwise
    /// changes nothing and returns false: the caller takes the full path.
    /// One dictionary lookup, no allocation; `unchanged` runs under the lock.
    public func absorbRepeat(of fingerprint: Fingerprint, _ repeated: AlertRepeat, unchanged: (borrowing Alert) -> Bool) -> Bool {
        shard(fingerprint).state.withLock { state in
            guard let entry = state.active[fingerprint] else { return false }
            return entry.alert.absorbIfUnchanged(repeated, unchanged)
        }
    }

    /// Updates a firing alert's value, iteration and `lastSeen` without an
    /// event (a rule series whose condition keeps holding): one dictionary
    /// update under the lock, no allocation. False when it is not firing.
    public func refresh(_ fingerprint: Fingerprint, currentValue: Double?, iteration: Int64?, at now: Date) -> Bool {
        shard(fingerprint).state.withLock { state in
            state.updateActive(fingerprint) { $0.refresh(currentValue: currentValue, iteration: iteration, at: now) }
        }
    }

    public var activeCount: Int { activeTotal.load(ordering: .relaxed) }

    /// A firing alert, or a resolved one still retained.
    public func alert(_ fingerprint: Fingerprint) -> Alert? {
        shard(fingerprint).state.withLock { $0.activeAlert(fingerprint) ?? $0.resolved[fingerprint] }
    }

    /// Collects from every shard in turn, one lock at a time.
    private func collect(_ body: (inout State, inout [Alert]) -> Void) -> [Alert] {
        var result: [Alert] = []
        for shard in shards {
            shard.state.withLock { body(&$0, &result) }
        }
        return result
    }

    /// A copy of every firing alert, ordered by fingerprint. Not one
    /// snapshot: each shard is copied under its own lock in turn.
    public func activeAlerts() -> [Alert] {
        collect { state, result in
            result.reserveCapacity(result.count + state.active.count)
            for entry in state.active.values { result.append(entry.alert) }
        }.sorted { $0.fingerprint < $1.fingerprint }
    }

    /// A copy of every alert held, firing and retained resolved, in no
    /// particular order (the engine's adopt does not need one: no sort).
    public func allAlerts() -> [Alert] {
        collect { state, result in
            result.reserveCapacity(result.count + state.active.count + state.resolved.count)
            for entry in state.active.values { result.append(entry.alert) }
            result.append(contentsOf: state.resolved.values)
        }
    }

    /// A copy of every retained resolved alert, ordered by fingerprint.
    public func resolvedAlerts() -> [Alert] {
        collect { state, result in result.append(contentsOf: state.resolved.values) }.sorted { $0.fingerprint < $1.fingerprint }
    }

    /// Firing alerts for which `isIncluded` holds, filtered under each
    /// shard's lock: only those are copied (a silence write's candidates,
    /// docs/ARCHITECTURE.md, Control plane). Not ordered.
    public func activeAlerts(where isIncluded: (Alert) -> Bool) -> [Alert] {
        collect { state, result in
            for entry in state.active.values where isIncluded(entry.alert) { result.append(entry.alert) }
        }
    }

    /// Firing alerts by alertname and severity, summed over the shards'
    /// counts (kept as alerts start and end): no alert is visited.
    public func activeCountsByType() -> [ActiveAlertType: Int] {
        var total: [ActiveAlertType: Int] = [:]
        for shard in shards {
            shard.state.withLock { state in
                for (type, count) in state.activeByType { total[type, default: 0] += count }
            }
        }
        return total
    }

    /// Firing alerts reported since `since` (their `lastSeen` is later), for
    /// the periodic activity write; filtered under each shard's lock.
    public func activeAlerts(seenAfter since: Date) -> [Alert] {
        collect { state, result in
            for entry in state.active.values where entry.alert.lastSeen > since { result.append(entry.alert) }
        }
    }

    /// Resolves every firing alert not reported for its resolve timeout
    /// (Alertmanager's `resolve_timeout`): `endsAt` = last seen + timeout.
    /// Scans the firing alerts shard by shard; the engine calls it every few
    /// seconds, not per event.
    public func resolveStale(now: Date, timeout: (Alert) -> Duration) -> [Alert] {
        var ended: [Alert] = []
        for shard in shards {
            let count = shard.state.withLock { state in
                // Found first, removed after: removing while iterating would
                // copy the shard's whole table (the loop holds a reference).
                var stale: [Alert] = []
                for entry in state.active.values {
                    let alert = entry.alert
                    let deadline = alert.lastSeen.addingTimeInterval(timeout(alert).seconds)
                    guard deadline <= now else { continue }
                    var resolved = alert
                    resolved.endsAt = deadline
                    stale.append(resolved)
                }
                for resolved in stale {
                    state.removeActive(resolved.fingerprint)
                    state.resolved[resolved.fingerprint] = resolved
                }
                ended.append(contentsOf: stale)
                return stale.count
            }
            if count > 0 { activeTotal.subtract(count, ordering: .relaxed) }
        }
        return ended.sorted { $0.fingerprint < $1.fingerprint }
    }

    /// Forgets resolved alerts that ended more than `retention` ago; returns their fingerprints.
    @discardableResult
    public func collectGarbage(now: Date, retention: Duration) -> [Fingerprint] {
        let cutoff = now.addingTimeInterval(-retention.seconds)
        var doomed: [Fingerprint] = []
        for shard in shards {
            shard.state.withLock { state in
                let expired = state.resolved.values.filter { ($0.endsAt ?? now) <= cutoff }.map(\.fingerprint)
                for fingerprint in expired { state.resolved[fingerprint] = nil }
                doomed.append(contentsOf: expired)
            }
        }
        return doomed.sorted()
    }

    /// Puts back alerts loaded from a state store (at start-up, before ingest
    /// begins): firing ones become active, resolved ones are retained.
    public func restore(_ alerts: [Alert]) {
        for alert in alerts {
            let added = shard(alert.fingerprint).state.withLock { state -> Int in
                if alert.isFiring {
                    let isNew = !state.isActive(alert.fingerprint)
                    state.insertActive(alert)
                    return isNew ? 1 : 0
                }
                state.resolved[alert.fingerprint] = alert
                return 0
            }
            if added > 0 { activeTotal.add(added, ordering: .relaxed) }
        }
    }

    /// Puts `alert` in place of whatever the store holds for its fingerprint
    /// (a standby following the shared state: docs/ARCHITECTURE.md, High
    /// availability). Not counted against `maxActiveAlerts`: the owner did.
    public func replace(_ alert: Alert) {
        let change = shard(alert.fingerprint).state.withLock { state -> Int in
            let wasActive = state.removeActive(alert.fingerprint) != nil
            state.resolved.removeValue(forKey: alert.fingerprint)
            if alert.isFiring { state.insertActive(alert) } else { state.resolved[alert.fingerprint] = alert }
            return (alert.isFiring ? 1 : 0) - (wasActive ? 1 : 0)
        }
        if change != 0 { activeTotal.add(change, ordering: .relaxed) }
    }

    /// Forgets an alert, firing or resolved.
    public func remove(_ fingerprint: Fingerprint) {
        let wasActive = shard(fingerprint).state.withLock { state -> Bool in
            state.resolved.removeValue(forKey: fingerprint)
            return state.removeActive(fingerprint) != nil
        }
        if wasActive { activeTotal.subtract(1, ordering: .relaxed) }
    }

    /// Forgets every alert (a new owner reloading the shared state).
    public func removeAll() {
        for shard in shards {
            let removed = shard.state.withLock { state -> Int in
                defer { state = State() }
                return state.active.count
            }
            if removed > 0 { activeTotal.subtract(removed, ordering: .relaxed) }
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval` for `Date` arithmetic.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
