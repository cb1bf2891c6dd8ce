import Synchronization

/// One change of durable state: what a `StateStore` writes. Only state
/// transitions are journaled (a new alert, a resolve, a silence change, a
/// notification sent, garbage collected); a duplicate event's `lastSeen` and
/// count are not, so the hot path never waits on storage.
public enum StateChange: Sendable, Equatable {
    case alertUpserted(Alert)
    case alertRemoved(Fingerprint)
    case silenceUpserted(Silence)
    case silenceRemoved(id: String)
    case notificationLogged(NotificationLogEntry)
    /// `receiver` is the entry's `receiverIntegration`.
    case notificationLogRemoved(receiver: String, groupKey: String)
    /// A rule series' window and state (written on its transitions and periodically).
    case ruleSeriesUpserted(RuleSeries)
    case ruleSeriesRemoved(key: String)

    /// What the change is about, for logs.
    public var summary: String {
        switch self {
        case .alertUpserted(let alert): "alert \(alert.fingerprint)"
        case .alertRemoved(let fingerprint): "alert \(fingerprint) (removal)"
        case .silenceUpserted(let silence): "silence \(silence.id)"
        case .silenceRemoved(let id): "silence \(id) (removal)"
        case .notificationLogged(let entry): "notification log entry of receiver \(entry.receiverIntegration)"
        case .notificationLogRemoved(let receiver, _): "notification log entry of receiver \(receiver) (removal)"
        case .ruleSeriesUpserted(let series): "rule series \(series.key.prefix(200))"
        case .ruleSeriesRemoved(let key): "rule series \(key.prefix(200)) (removal)"
        }
    }
}

/// Everything needed to rebuild the in-memory state after a restart.
public struct PersistedState: Sendable, Equatable {
    public var alerts: [Alert]
    public var silences: [Silence]
    public var notificationLog: [NotificationLogEntry]
    public var ruleSeries: [RuleSeries]

    public init(alerts: [Alert] = [], silences: [Silence] = [], notificationLog: [NotificationLogEntry] = [], ruleSeries: [RuleSeries] = []) {
        self.alerts = alerts
        self.silences = silences
        self.notificationLog = notificationLog
        self.ruleSeries = ruleSeries
    }
}

/// Where alerts, silences, the notification log and rule series are kept across
/// restarts. The engine's memory (`AlertStore`, `Silencer`,
/// `NotificationLog`) is the working copy; a state store receives its
/// changes and gives them back at start-up.
///
/// Implementations: `MemoryStateStore` (tests), `DiscardingStateStore`
/// (`state.backend: memory`, where state is lost on restart); the JetStream
/// KV store (durable mode) lives in AlertIngest.
public protocol StateStore: Sendable {
    /// Everything stored, for start-up.
    func load() async throws -> PersistedState
    /// Applies changes in order. Called off the hot path, in batches.
    func record(_ changes: [StateChange]) async throws
    /// Records dropped because they could never be written (poison items).
    var droppedRecords: Int { get }
    /// Records `load` found but could not read (truncated, garbled), left out.
    var unreadableRecords: Int { get }
}

extension StateStore {
    public var droppedRecords: Int { 0 }
    public var unreadableRecords: Int { 0 }
}

/// A `StateStore` in process memory.
public final class MemoryStateStore: StateStore {
    private struct Contents {
        var alerts: [Fingerprint: Alert] = [:]
        var silences: [String: Silence] = [:]
        var log: [String: NotificationLogEntry] = [:]
        var ruleSeries: [String: RuleSeries] = [:]
    }

    private let contents = Mutex(Contents())

    public init(_ initial: PersistedState = PersistedState()) {
        contents.withLock { contents in
            for alert in initial.alerts { contents.alerts[alert.fingerprint] = alert }
            for silence in initial.silences { contents.silences[silence.id] = silence }
            for entry in initial.notificationLog { contents.log[Self.key(entry.receiverIntegration, entry.groupKey)] = entry }
            for series in initial.ruleSeries { contents.ruleSeries[series.key] = series }
        }
    }

    public func load() async throws -> PersistedState {
        contents.withLock { contents in
            PersistedState(
                alerts: contents.alerts.values.sorted { $0.fingerprint < $1.fingerprint },
                silences: contents.silences.values.sorted { $0.id < $1.id },
                notificationLog: contents.log.values.sorted { ($0.receiverIntegration, $0.groupKey) < ($1.receiverIntegration, $1.groupKey) },
                ruleSeries: contents.ruleSeries.values.sorted { $0.key < $1.key }
            )
        }
    }

    public func record(_ changes: [StateChange]) async throws {
        contents.withLock { contents in
            for change in changes {
                switch change {
                case .alertUpserted(let alert): contents.alerts[alert.fingerprint] = alert
                case .alertRemoved(let fingerprint): contents.alerts[fingerprint] = nil
                case .silenceUpserted(let silence): contents.silences[silence.id] = silence
                case .silenceRemoved(let id): contents.silences[id] = nil
                case .notificationLogged(let entry): contents.log[Self.key(entry.receiverIntegration, entry.groupKey)] = entry
                case .notificationLogRemoved(let receiver, let groupKey): contents.log[Self.key(receiver, groupKey)] = nil
                case .ruleSeriesUpserted(let series): contents.ruleSeries[series.key] = series
                case .ruleSeriesRemoved(let key): contents.ruleSeries[key] = nil
                }
            }
        }
    }

    private static func key(_ receiver: String, _ groupKey: String) -> String {
        receiver + "\u{0}" + groupKey
    }
}

/// Collects state changes from the engine, the silencer and the notification
/// log until the service writes them to its `StateStore`. Thread-safe;
/// appends are cheap and never block on storage.
public final class StateJournal: Sendable {
    private let pending = Mutex<[StateChange]>([])

    public init() {}

    public func append(_ change: StateChange) {
        pending.withLock { $0.append(change) }
    }

    public func append(contentsOf changes: [StateChange]) {
        guard !changes.isEmpty else { return }
        pending.withLock { $0.append(contentsOf: changes) }
    }

    /// Puts changes back in front (a write that failed), keeping their order.
    public func prepend(_ changes: [StateChange]) {
        pending.withLock { $0.insert(contentsOf: changes, at: 0) }
    }

    public var isEmpty: Bool { pending.withLock { $0.isEmpty } }

    /// Takes every change recorded so far, in order.
    public func drain() -> [StateChange] {
        pending.withLock { changes in
            defer { changes = [] }
            return changes
        }
    }
}
