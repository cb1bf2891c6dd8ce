public import AlertCore
public import AlertIngest
public import Foundation
public import Logging

/// The in-memory model of a running nats-alerter, without I/O: alerts,
/// silences, the notification log, the event-stream rules, the engine, and
/// the journal of their changes waiting to be written. Built from the
/// configuration before anything connects, so start-up can restore state
/// into it; shared by ingest (libnats threads), the engine loop, the HTTP
/// API and metrics, each part thread-safe on its own.
public final class AlertingState: Sendable {
    public let store: AlertStore
    /// Ingest's results on their way to the engine loop.
    public let transitions: AlertTransitionBuffer
    public let journal: StateJournal
    public let silencer: Silencer
    public let notificationLog: NotificationLog
    public let engine: EngineHost
    /// The event-stream rules (fixed at start: changing them needs a restart).
    public let rules: RuleEvaluator

    public init(config: AlerterConfig, logger: Logger) {
        store = AlertStore(limits: .init(maxActiveAlerts: config.state.maxActiveAlerts))
        transitions = AlertTransitionBuffer()
        journal = StateJournal()
        silencer = Silencer(journal: journal)
        notificationLog = NotificationLog(journal: journal)
        engine = EngineHost(configuration: config.engine, store: store, silencer: silencer, notificationLog: notificationLog,
                            journal: journal, logger: logger)
        rules = RuleEvaluator(rules: config.rules, store: store, journal: journal)
    }

    /// Puts back what a state store kept (start-up, before the first event).
    public func restore(_ persisted: PersistedState, at now: Date) async {
        store.restore(persisted.alerts)
        silencer.restore(persisted.silences)
        notificationLog.restore(persisted.notificationLog)
        rules.restore(persisted.ruleSeries, at: now)
        // The alerts just restored, as loaded: not copied out of the store
        // and sorted again (grouping does not depend on their order).
        await engine.adopt(persisted.alerts, at: now)
    }
}
