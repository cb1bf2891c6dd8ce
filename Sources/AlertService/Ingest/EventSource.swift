public import AlertCore
public import Logging

/// Where the engine loop's events come from (docs/ARCHITECTURE.md, Data
/// flow): `NATSIngest` in the service, a fake in tests. A source changes the
/// alert store and queues transitions in `state.transitions` from its own
/// threads; when it ends for good it finishes that buffer, and the loop
/// stops.
public protocol EventSource: Sendable {
    /// Starts delivering events (the loop's first step, once state is loaded).
    func subscribe(_ state: AlertingState, clock: any WallClock) async throws
    /// Stops taking events; returns once every event already received has
    /// been handed to the alert store.
    func drain() async
    /// The last step of shutdown, after state is written.
    func close() async
    /// Why the source ended for good, for the log.
    var failure: String { get }
    /// Counters for the final log line.
    var summary: Logger.Metadata { get }
    /// Shutdown: sends the acks of every event whose effect is recorded,
    /// and no more after (batched acks, docs/ARCHITECTURE.md, Durability).
    func finishAcknowledgements()
}

extension EventSource {
    public func finishAcknowledgements() {}
}
