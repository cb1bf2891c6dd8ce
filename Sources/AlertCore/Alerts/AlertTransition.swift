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
}
