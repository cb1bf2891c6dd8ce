/// What one event did to the alert store.
public enum AlertTransition: Sendable, Equatable {
    /// A new alert: first time this identity was seen while not firing.
    case fired(Alert)
    /// An event for an alert already firing: counted, not forwarded.
    case duplicate(Fingerprint)
    /// A RESOLVED event ended a firing alert.
    case resolved(Alert)
    /// A RESOLVED event for an identity that is not firing (already resolved,
    /// or never seen): nothing to do.
    case resolveOfUnknown(Fingerprint)
    /// A new alert refused because the active-alert cap is reached.
    case refusedAtCapacity(Fingerprint)
    /// A FIRING event that occurred (`occurred_at`) no later than the end of
    /// its alert's last resolve, which is still retained: an older event
    /// delivered again (a JetStream redelivery after a lost ack), not a new
    /// incident. Ignored, so a resolved alert does not come back.
    case staleFiring(Fingerprint)
}
