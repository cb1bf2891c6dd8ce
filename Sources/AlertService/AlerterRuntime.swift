public import AlertCore
public import AlertIngest
public import AlertNotify
public import Foundation
public import Logging
import Synchronization

/// Everything a running nats-alerter shares between ingest, the engine loop,
/// the HTTP API and metrics. Thread-safe: immutable references to
/// thread-safe parts, plus a small mutex-protected state.
public final class AlerterRuntime: Sendable {
    public let configPath: String?
    public let store: AlertStore
    public let transitions: AlertTransitionBuffer
    public let silencer: Silencer
    public let notificationLog: NotificationLog
    public let journal: StateJournal
    private let currentStateStore: Mutex<any StateStore>
    /// Where state is kept; JetStream's KV store replaces the memory one once connected.
    public var stateStore: any StateStore { currentStateStore.withLock { $0 } }
    func setStateStore(_ store: any StateStore) { currentStateStore.withLock { $0 = store } }
    public let engine: EngineHost
    /// The event-stream rules (fixed at start: changing them needs a restart).
    public let rules: RuleEvaluator
    public let clock: any WallClock
    public let logger: Logger
    public let startedAt: Date

    struct State {
        var config: AlerterConfig
        var connection: NATSConnection?
        var subscriptions: [(subject: String, subscription: any IngestSubscription, counters: IngestCounters)] = []
        var stateLoaded = false
        var notifiers: Notifiers?
        var notifierTask: Task<Void, Never>?
        var lastReload: (success: Bool, at: Date)?
        var triggeredByType: [String: Int] = [:]
        var draining = false
        var outbox: NotificationOutbox?
        var deadLetteredEvents: [String: Int] = [:]
        var listenerTLS: ListenerTLS?
    }

    let state: Mutex<State>

    public init(config: AlerterConfig, configPath: String?, logger: Logger, clock: any WallClock = SystemWallClock(),
                stateStore: any StateStore = MemoryStateStore()) {
        self.configPath = configPath
        self.logger = logger
        self.clock = clock
        self.startedAt = clock.now()
        self.store = AlertStore(limits: .init(maxActiveAlerts: config.state.maxActiveAlerts))
        self.transitions = AlertTransitionBuffer()
        self.journal = StateJournal()
        self.currentStateStore = Mutex(stateStore)
        self.silencer = Silencer(journal: journal)
        self.notificationLog = NotificationLog(journal: journal)
        self.engine = EngineHost(configuration: config.engine, store: store, silencer: silencer, notificationLog: notificationLog,
                                 journal: journal, logger: logger)
        self.rules = RuleEvaluator(rules: config.rules, store: store, journal: journal)
        self.state = Mutex(State(config: config))
    }

    public var config: AlerterConfig { state.withLock { $0.config } }
    public var connection: NATSConnection? { state.withLock { $0.connection } }

    /// Ingest counters per subscribed subject pattern.
    public var ingestCounters: [(subject: String, counters: IngestCounters, dropped: Int64, pending: Int)] {
        state.withLock { $0.subscriptions }.map { ($0.subject, $0.counters, $0.subscription.droppedCount, $0.subscription.pendingCount) }
    }

    /// `/-/ready`: NATS connected and state loaded; otherwise why not.
    public var readiness: (ready: Bool, reason: String) {
        let (connection, loaded, draining) = state.withLock { ($0.connection, $0.stateLoaded, $0.draining) }
        if draining { return (false, "shutting down") }
        if !loaded { return (false, "state not loaded yet") }
        guard let connection else { return (false, "not connected to NATS yet") }
        let natsState = connection.state
        return natsState == .connected ? (true, "ready") : (false, "NATS connection is \(natsState.rawValue)")
    }

    public var lastReload: (success: Bool, at: Date)? { state.withLock { $0.lastReload } }
    public var alertsTriggeredByType: [String: Int] { state.withLock { $0.triggeredByType } }
    public var notifiers: Notifiers? { state.withLock { $0.notifiers } }

    /// The durable outbox, in durable mode.
    var outbox: NotificationOutbox? { state.withLock { $0.outbox } }
    func setOutbox(_ outbox: NotificationOutbox?) { state.withLock { $0.outbox = outbox } }
    /// Events republished to the dead-letter subject, by reject reason.
    var deadLetteredEvents: [String: Int] { state.withLock { $0.deadLetteredEvents } }
    func recordDeadLetteredEvent(reason: String) { state.withLock { $0.deadLetteredEvents[reason, default: 0] += 1 } }

    /// The HTTPS listener's certificates, when `server.tls_server_config` is set.
    var listenerTLS: ListenerTLS? { state.withLock { $0.listenerTLS } }
    func setListenerTLS(_ tls: ListenerTLS) { state.withLock { $0.listenerTLS = tls } }

    func setConnection(_ connection: NATSConnection) { state.withLock { $0.connection = connection } }
    func addSubscription(_ subject: String, _ subscription: any IngestSubscription, _ counters: IngestCounters) {
        state.withLock { $0.subscriptions.append((subject, subscription, counters)) }
    }
    var subscriptions: [any IngestSubscription] { state.withLock { $0.subscriptions.map(\.subscription) } }
    func markStateLoaded() { state.withLock { $0.stateLoaded = true } }
    func markDraining() { state.withLock { $0.draining = true } }

    /// Counts new alerts per type (`alerts_triggered_total{alert_type}`).
    func recordTriggered(_ transitions: [AlertTransition]) {
        let types = transitions.compactMap { transition -> String? in
            if case .fired(let alert) = transition { return alert.labels["alertname"] ?? "" }
            return nil
        }
        guard !types.isEmpty else { return }
        state.withLock { state in
            for type in types { state.triggeredByType[type, default: 0] += 1 }
        }
    }

    // MARK: Notifiers

    /// Builds and starts notifiers for `config`; the previous ones, if any,
    /// stop taking notifications and get `grace` to deliver what they hold.
    func startNotifiers(for config: AlerterConfig, grace: Duration = .seconds(10)) throws {
        let store = self.store
        let notifiers = try Notifiers(
            receivers: Array(config.receivers.values), templates: config.templates, retryPolicy: config.retryPolicy,
            externalURL: config.externalURL, logger: logger, lookup: { store.alert($0) },
            makeEmail: { [templates = config.templates, externalURL = config.externalURL] in
                EmailNotifier(configuration: $0, templates: templates, externalURL: externalURL)
            },
            onGivenUp: { [notificationLog] in notificationLog.revert($0) }
        )
        let task = Task { await notifiers.run() }
        let previous = state.withLock { state in
            defer { state.notifiers = notifiers; state.notifierTask = task }
            return (state.notifiers, state.notifierTask)
        }
        if let old = previous.0, let oldTask = previous.1 {
            Task { await Self.retire(old, task: oldTask, grace: grace) }
        }
    }

    /// Stops the current notifiers after at most `grace` (shutdown).
    func stopNotifiers(grace: Duration) async {
        let (notifiers, task) = state.withLock { ($0.notifiers, $0.notifierTask) }
        if let notifiers, let task { await Self.retire(notifiers, task: task, grace: grace) }
    }

    private static func retire(_ notifiers: Notifiers, task: Task<Void, Never>, grace: Duration) async {
        notifiers.finish()
        let deadline = Task {
            try? await Task.sleep(for: grace)
            task.cancel()
        }
        await task.value
        deadline.cancel()
        await notifiers.close()
    }

    // MARK: Reload

    /// Re-reads the config file. A valid one is swapped in (routes,
    /// receivers, inhibition, templates, time intervals) without touching
    /// alerts, silences or group timers; an invalid one is refused with its
    /// errors and the running config stays. Changes to `nats`, `state` and
    /// `server` need a restart and are reported as such.
    public func reload() async -> Result<[String], ConfigError> {
        if let tls = listenerTLS {
            do {
                try tls.reload()
                logger.info("HTTPS certificate and key re-read", metadata: ["cert_file": .string(tls.files.certFile)])
            } catch {
                logger.error("HTTPS certificate reload failed; the previous certificate stays in use", metadata: ["error": .string("\(error)")])
            }
        }
        guard let configPath else {
            return .failure(ConfigError(file: "<none>", issues: [ConfigIssue(path: "", message: "the service was not started from a config file")]))
        }
        let loaded: AlerterConfig
        do {
            loaded = try ConfigLoader.load(path: configPath)
        } catch {
            state.withLock { $0.lastReload = (false, clock.now()) }
            logger.error("configuration reload refused; the running configuration stays", metadata: [
                "errors": .array(error.issues.map { .string($0.description) }),
            ])
            return .failure(error)
        }
        let current = config
        let notes = AlerterConfig.restartNotes(from: current, to: loaded)
        do {
            try startNotifiers(for: loaded)
        } catch {
            state.withLock { $0.lastReload = (false, clock.now()) }
            let failure = ConfigError(file: configPath, issues: [ConfigIssue(path: "receivers", message: "\(error)")])
            logger.error("configuration reload refused; the running configuration stays", metadata: ["error": .string("\(error)")])
            return .failure(failure)
        }
        await engine.reload(loaded.engine, at: clock.now())
        var applied = loaded
        applied.nats = current.nats
        applied.state = current.state
        applied.server = current.server
        applied.rules = current.rules
        state.withLock { state in
            state.config = applied
            state.lastReload = (true, clock.now())
        }
        logger.notice("configuration reloaded", metadata: ["notes": .array((notes + loaded.notes).map { .string($0) })])
        return .success(notes)
    }

    func recordInitialLoad() {
        state.withLock { $0.lastReload = (true, clock.now()) }
    }
}
