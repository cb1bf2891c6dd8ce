public import struct Foundation.Date
import Synchronization

/// The active alerts, keyed by identity: deduplication and resolve.
///
/// Threading: `apply` is called synchronously on the NATS delivery threads
/// (one per subscription) and is safe to call from any number of them; the
/// map sits behind one `Mutex` held only for a dictionary lookup and update.
/// No allocation or I/O happens under the lock beyond the dictionary's own.
public final class AlertStore: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Most alerts firing at once; a new alert past it is refused, and no
        /// existing alert is ever evicted to make room.
        public var maxActiveAlerts: Int

        public init(maxActiveAlerts: Int = 1_000_000) {
            self.maxActiveAlerts = maxActiveAlerts
        }
    }

    private struct State {
        var active: [Fingerprint: Alert] = [:]
        /// Resolved alerts kept for `resolvedRetention` (for the API and for
        /// notifications that still have to report the resolve).
        var resolved: [Fingerprint: Alert] = [:]
    }

    private let state = Mutex(State())
    private let limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Applies one event received at `receivedAt` and says what changed.
    public func apply(_ event: AlertEvent, receivedAt: Date) -> AlertTransition {
        let fingerprint = event.fingerprint
        switch event.status {
        case .firing:
            return state.withLock { state in
                if state.active[fingerprint] != nil {
                    state.active[fingerprint]!.absorb(event, receivedAt: receivedAt)
                    return .duplicate(fingerprint)
                }
                if event.occurredAtUnixMs != 0, let ended = state.resolved[fingerprint]?.endsAt,
                   event.occurredAt(receivedAt: receivedAt) <= ended {
                    return .staleFiring(fingerprint)
                }
                if state.active.count >= limits.maxActiveAlerts {
                    return .refusedAtCapacity(fingerprint)
                }
                let alert = Alert(event: event, fingerprint: fingerprint, receivedAt: receivedAt)
                state.active[fingerprint] = alert
                state.resolved[fingerprint] = nil
                return .fired(alert)
            }
        case .resolved:
            let ended: Alert? = state.withLock { state in
                guard var alert = state.active.removeValue(forKey: fingerprint) else { return nil }
                alert.endsAt = max(event.occurredAt(receivedAt: receivedAt), alert.startsAt)
                alert.lastSeen = receivedAt
                let annotations = event.alertAnnotations
                if !annotations.isEmpty { alert.annotations = annotations }
                state.resolved[fingerprint] = alert
                return alert
            }
            if let ended { return .resolved(ended) }
            return .resolveOfUnknown(fingerprint)
        }
    }

    /// Updates a firing alert's value, iteration and `lastSeen` without an
    /// event (a rule series whose condition keeps holding): one dictionary
    /// update under the lock, no allocation. False when it is not firing.
    public func refresh(_ fingerprint: Fingerprint, currentValue: Double?, iteration: Int64?, at now: Date) -> Bool {
        state.withLock { state in
            guard state.active[fingerprint] != nil else { return false }
            state.active[fingerprint]!.refresh(currentValue: currentValue, iteration: iteration, at: now)
            return true
        }
    }

    public var activeCount: Int { state.withLock { $0.active.count } }

    /// A firing alert, or a resolved one still retained.
    public func alert(_ fingerprint: Fingerprint) -> Alert? {
        state.withLock { $0.active[fingerprint] ?? $0.resolved[fingerprint] }
    }

    /// A copy of every firing alert, ordered by fingerprint.
    public func activeAlerts() -> [Alert] {
        state.withLock { Array($0.active.values) }.sorted { $0.fingerprint < $1.fingerprint }
    }

    /// A copy of every retained resolved alert, ordered by fingerprint.
    public func resolvedAlerts() -> [Alert] {
        state.withLock { Array($0.resolved.values) }.sorted { $0.fingerprint < $1.fingerprint }
    }

    /// Resolves every firing alert not reported for its resolve timeout
    /// (Alertmanager's `resolve_timeout`): `endsAt` = last seen + timeout.
    /// Scans all firing alerts under the lock; the engine calls it every few
    /// seconds, not per event.
    public func resolveStale(now: Date, timeout: (Alert) -> Duration) -> [Alert] {
        state.withLock { state in
            var ended: [Alert] = []
            for (fingerprint, alert) in state.active {
                let limit = timeout(alert)
                let deadline = alert.lastSeen.addingTimeInterval(limit.seconds)
                guard deadline <= now else { continue }
                var resolved = alert
                resolved.endsAt = deadline
                state.active[fingerprint] = nil
                state.resolved[fingerprint] = resolved
                ended.append(resolved)
            }
            return ended.sorted { $0.fingerprint < $1.fingerprint }
        }
    }

    /// Forgets resolved alerts that ended more than `retention` ago; returns their fingerprints.
    @discardableResult
    public func collectGarbage(now: Date, retention: Duration) -> [Fingerprint] {
        state.withLock { state in
            let cutoff = now.addingTimeInterval(-retention.seconds)
            let doomed = state.resolved.values.filter { ($0.endsAt ?? now) <= cutoff }.map(\.fingerprint)
            for fingerprint in doomed { state.resolved[fingerprint] = nil }
            return doomed.sorted()
        }
    }

    /// Puts back alerts loaded from a state store (at start-up, before ingest
    /// begins): firing ones become active, resolved ones are retained.
    public func restore(_ alerts: [Alert]) {
        state.withLock { state in
            for alert in alerts {
                if alert.isFiring {
                    state.active[alert.fingerprint] = alert
                } else {
                    state.resolved[alert.fingerprint] = alert
                }
            }
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval` for `Date` arithmetic.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
