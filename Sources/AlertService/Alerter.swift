public import AlertCore
import AlertIngest
public import AlertNotify
public import Foundation
public import Logging
import Synchronization

/// A running nats-alerter, assembled once: the in-memory model, where state
/// is kept, the NATS ingest, the notification sink and the engine loop
/// (docs/ARCHITECTURE.md, Modules). `start` builds it before the service
/// group runs; nothing is filled in afterwards. The one thing that changes
/// is the configuration in force, which `reload()` swaps.
///
/// Thread-safe: immutable references to thread-safe parts, plus the running
/// configuration under a lock.
public final class Alerter: Sendable {
    public let configPath: String?
    public let clock: any WallClock
    public let logger: Logger
    public let startedAt: Date
    public let state: AlertingState
    /// Where state is kept: JetStream KV in durable mode, memory otherwise.
    public let stateStore: any StateStore
    /// Nil only for an alerter built without NATS (tests of the API).
    public let ingest: NATSIngest?
    /// The integrations, in both modes (the outbox delivers through them).
    public let notifiers: Notifiers
    /// The durable outbox, when `state.jetstream.outbox` is on.
    public let outbox: NotificationOutbox?
    public let loop: EngineLoop
    /// Publishes state-change events on `<prefix>.events.…` when `nats.control` is enabled (docs/ARCHITECTURE.md, Control plane).
    public let stateEvents: StateEventPublisher?
    /// High availability (durable mode; docs/ARCHITECTURE.md, High availability).
    public let ownership: HAOwnership?
    /// The HTTPS listener's certificates, when `server.tls_server_config` is set.
    let listenerTLS: ListenerTLS?

    private struct Running {
        var config: AlerterConfig
        var lastReload: (success: Bool, at: Date)?
    }

    private let running: Mutex<Running>

    init(config: AlerterConfig, configPath: String?, state: AlertingState, stateStore: any StateStore, ingest: NATSIngest?,
         notifiers: Notifiers, outbox: NotificationOutbox?, listenerTLS: ListenerTLS?, clock: any WallClock, logger: Logger, startedAt: Date,
         stateEvents: StateEventPublisher? = nil, ownership: HAOwnership? = nil) {
        self.configPath = configPath
        self.ownership = ownership
        self.clock = clock
        self.logger = logger
        self.startedAt = startedAt
        self.state = state
        self.stateStore = stateStore
        self.ingest = ingest
        self.notifiers = notifiers
        self.outbox = outbox
        self.listenerTLS = listenerTLS
        self.stateEvents = stateEvents
        self.loop = EngineLoop(state: state, stateStore: stateStore, ingest: ingest, sink: outbox ?? notifiers,
                               clock: clock, logger: logger, startedAt: startedAt, stateEvents: stateEvents, ownership: ownership)
        self.running = Mutex(Running(config: config, lastReload: (true, clock.now())))
    }

    /// An alerter without NATS or HTTPS, with memory state and no
    /// integrations configured: for tests of the HTTP API and the engine loop.
    public convenience init(config: AlerterConfig, configPath: String?, logger: Logger, clock: any WallClock = SystemWallClock(),
                            stateStore: any StateStore = MemoryStateStore()) {
        let state = AlertingState(config: config, logger: logger)
        self.init(config: config, configPath: configPath, state: state, stateStore: stateStore, ingest: nil,
                  notifiers: Self.notifiers(for: state, logger: logger), outbox: nil, listenerTLS: nil, clock: clock, logger: logger,
                  startedAt: clock.now())
    }

    static func notifiers(for state: AlertingState, logger: Logger) -> Notifiers {
        Notifiers(logger: logger, lookup: { [store = state.store] in store.alert($0) },
                  makeEmail: { EmailNotifier(configuration: $0, templates: $1, externalURL: $2) },
                  onGivenUp: { [notificationLog = state.notificationLog] in notificationLog.revert($0) })
    }

    public var store: AlertStore { state.store }
    public var silencer: Silencer { state.silencer }
    public var engine: EngineHost { state.engine }
    public var rules: RuleEvaluator { state.rules }
    public var notificationLog: NotificationLog { state.notificationLog }
    public var journal: StateJournal { state.journal }

    /// The configuration in force (the file's, as of the last successful reload).
    public var config: AlerterConfig { running.withLock { $0.config } }
    public var lastReload: (success: Bool, at: Date)? { running.withLock { $0.lastReload } }

    /// `/-/ready`: the engine loop running and NATS connected; otherwise why not.
    public var readiness: (ready: Bool, reason: String) {
        let loop = self.loop.readiness
        guard loop.ready else { return loop }
        guard let ingest else { return (false, "not connected to NATS yet") }
        let natsState = ingest.connection.state
        return natsState == .connected ? (true, "ready") : (false, "NATS connection is \(natsState.rawValue)")
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
            running.withLock { $0.lastReload = (false, clock.now()) }
            logger.error("configuration reload refused; the running configuration stays", metadata: [
                "errors": .array(error.issues.map { .string($0.description) }),
            ])
            return .failure(error)
        }
        let current = config
        let notes = AlerterConfig.restartNotes(from: current, to: loaded)
        do {
            try configureNotifiers(loaded)
        } catch {
            running.withLock { $0.lastReload = (false, clock.now()) }
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
        running.withLock { running in
            running.config = applied
            running.lastReload = (true, clock.now())
        }
        logger.notice("configuration reloaded", metadata: ["notes": .array((notes + loaded.notes).map { .string($0) })])
        return .success(notes)
    }

    func configureNotifiers(_ config: AlerterConfig) throws(NotifyError) {
        try notifiers.configure(receivers: Array(config.receivers.values), templates: config.templates, retryPolicy: config.retryPolicy,
                                externalURL: config.externalURL)
    }
}
