public import AlertCore

/// One delivery channel of a receiver: an entry of its `*_configs` lists.
///
/// Threading: `send` is called by the integration's own worker, one
/// notification at a time; it may suspend for as long as the receiver takes
/// (blocking calls run off the cooperative pool).
public protocol Integration: Sendable {
    /// `alertmanager`, `slack`, `email` or `webhook` — the `integration` metric label.
    var kind: String { get }
    /// Whether resolved alerts are sent (`send_resolved`).
    var sendResolved: Bool { get }
    /// Delivers one notification or says why not.
    func send(_ notification: AlertCore.Notification) async throws(NotifyError)
}
