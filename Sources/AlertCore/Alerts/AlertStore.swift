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

    private let active = Mutex<[Fingerprint: Alert]>([:])
    private let limits: Limits

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Applies one event received at `receivedAt` and says what changed.
    public func apply(_ event: AlertEvent, receivedAt: Date) -> AlertTransition {
        let fingerprint = event.fingerprint
        switch event.status {
        case .firing:
            return active.withLock { alerts in
                if alerts[fingerprint] != nil {
                    alerts[fingerprint]!.absorb(event, receivedAt: receivedAt)
                    return .duplicate(fingerprint)
                }
                if alerts.count >= limits.maxActiveAlerts {
                    return .refusedAtCapacity(fingerprint)
                }
                let alert = Alert(event: event, fingerprint: fingerprint, receivedAt: receivedAt)
                alerts[fingerprint] = alert
                return .fired(alert)
            }
        case .resolved:
            let ended: Alert? = active.withLock { alerts in
                guard var alert = alerts.removeValue(forKey: fingerprint) else { return nil }
                alert.endsAt = event.occurredAt(receivedAt: receivedAt)
                alert.lastSeen = receivedAt
                let annotations = event.alertAnnotations
                if !annotations.isEmpty { alert.annotations = annotations }
                return alert
            }
            if let ended { return .resolved(ended) }
            return .resolveOfUnknown(fingerprint)
        }
    }

    public var activeCount: Int { active.withLock { $0.count } }

    public func alert(_ fingerprint: Fingerprint) -> Alert? {
        active.withLock { $0[fingerprint] }
    }

    /// A copy of every firing alert, ordered by fingerprint.
    public func activeAlerts() -> [Alert] {
        active.withLock { Array($0.values) }.sorted { $0.fingerprint < $1.fingerprint }
    }
}
