public import AlertCore

/// Where the engine loop hands the notifications it decided
/// (docs/ARCHITECTURE.md, Delivery). Two kinds:
///
/// - `Notifiers` (memory mode) queues them for its integration workers. The
///   loop records the decisions first and submits after: a crash in
///   between loses the notification, never sends it twice.
/// - `NotificationOutbox` (durable mode) stores them in a JetStream stream.
///   The loop submits first and records the decisions after: a crash in
///   between leaves a stored notification whose decision is made again
///   under the same id, and the stream drops the copy.
public protocol NotificationSink: AnyObject, Sendable {
    /// True when `submit` stores notifications durably, so the loop submits
    /// before it records the decisions (see above).
    var isDurable: Bool { get }

    /// Takes notifications in decision order and returns how many it took:
    /// a prefix, all of them unless storage failed. The loop holds the rest,
    /// and the events behind them, for its next step. Never waits on a
    /// receiver.
    func submit(_ notifications: [AlertCore.Notification]) async -> Int

    /// Delivers until `shutdown(grace:)` has finished.
    func run() async

    /// Stops taking notifications, gives deliveries in hand `grace` to
    /// finish, and returns once delivery has stopped.
    func shutdown(grace: Duration) async
}
