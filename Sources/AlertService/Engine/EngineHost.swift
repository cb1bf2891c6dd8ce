public import AlertCore
public import Foundation
public import Logging

/// An aggregation group as the API shows it.
public struct GroupSnapshot: Sendable {
    public var receiver: String
    public var labels: LabelSet
    public var fingerprints: [Fingerprint]
}

/// The engine's single owner. The engine is not thread-safe; this actor
/// serialises the ingest loop's steps, the HTTP API's reads and reloads.
/// It runs on a thread of its own (`EngineThread`), so a long step never
/// holds a thread of the cooperative pool that HTTP handlers need; the
/// metrics read `gauges` without entering it (docs/ARCHITECTURE.md, Threads).
public actor EngineHost {
    private var engine: AlertEngine
    private let journal: StateJournal?
    private let logger: Logger
    /// Group and mute counts, kept up to date by the engine; read without the actor.
    public nonisolated let gauges: EngineGauges

    public nonisolated var unownedExecutor: UnownedSerialExecutor {
        EngineThread.shared.asUnownedSerialExecutor()
    }

    public init(configuration: EngineConfiguration, store: AlertStore, silencer: Silencer, notificationLog: NotificationLog,
                journal: StateJournal?, logger: Logger) {
        self.journal = journal
        self.logger = logger
        engine = AlertEngine(configuration: configuration, store: store, silencer: silencer, notificationLog: notificationLog,
                             journal: journal, logger: logger)
        gauges = engine.gauges
    }

    /// Starts over from the store's alerts: a fresh engine (no groups, no
    /// timers) that adopts every alert, as at start-up. A standby refreshing
    /// its view of the groups, and a new owner after it reloaded the shared
    /// state (docs/ARCHITECTURE.md, High availability).
    public func readopt(at now: Date) {
        engine = AlertEngine(configuration: engine.configuration, store: engine.store, silencer: engine.silencer,
                             notificationLog: engine.notificationLog, journal: journal, logger: logger, gauges: gauges)
        engine.adopt(engine.store.allAlerts(), at: now)
    }

    /// One step of the loop: apply transitions, run what is due, return notifications.
    public func step(_ transitions: [AlertTransition], at now: Date) -> [AlertCore.Notification] {
        stepReportingTimeouts(transitions, at: now).notifications
    }

    /// The same step, also returning the alerts it resolved by their resolve timeout.
    public func stepReportingTimeouts(_ transitions: [AlertTransition], at now: Date) -> (notifications: [AlertCore.Notification], timedOut: [Alert]) {
        engine.apply(transitions, at: now)
        let notifications = engine.advance(to: now)
        return (notifications, engine.lastTimedOut)
    }

    public func adopt(_ alerts: [Alert], at now: Date) {
        engine.adopt(alerts, at: now)
    }

    public var nextDeadline: Date? { engine.nextDeadline }

    public func reload(_ configuration: EngineConfiguration, at now: Date) {
        engine.reload(configuration, at: now)
    }

    public var configuration: EngineConfiguration { engine.configuration }

    /// The receivers an alert with these labels reaches.
    public func receivers(for labels: LabelSet) -> [String] {
        var seen = Set<String>()
        return engine.routes(for: labels).map(\.receiver).filter { seen.insert($0).inserted }
    }

    /// Silences and inhibitions of each alert at `now`, plus its receivers.
    public func status(of alerts: [Alert], at now: Date) -> [Fingerprint: (receivers: [String], silencedBy: [String], inhibitedBy: [Fingerprint])] {
        var result: [Fingerprint: (receivers: [String], silencedBy: [String], inhibitedBy: [Fingerprint])] = [:]
        for alert in alerts {
            let marks = engine.marks(for: alert, at: now)
            result[alert.fingerprint] = (receivers(for: alert.labels), marks.silencedBy, marks.inhibitedBy)
        }
        return result
    }

    public var groups: [GroupSnapshot] {
        engine.groups.map { GroupSnapshot(receiver: $0.route.receiver, labels: $0.labels, fingerprints: $0.fingerprints) }
    }
}
