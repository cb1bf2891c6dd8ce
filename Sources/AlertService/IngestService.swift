public import AlertCore
public import AlertIngest
import AlertNotify
public import Logging
public import ServiceLifecycle

/// The running service of this version: connects to NATS, subscribes to the
/// configured subjects, and turns events into alert transitions.
///
/// Ingest happens on libnats' delivery threads (`EventIngestor`); this
/// service's task only drains the transition buffer in batches and writes the
/// alert lines. On graceful shutdown (SIGTERM/SIGINT) it drains the NATS
/// subscriptions — messages already received are fully processed — emits what
/// is left, and logs the final counters.
public final class IngestService: Service {
    public let config: AlerterConfig
    public let store: AlertStore
    public let transitions: AlertTransitionBuffer
    public let counters: IngestCounters
    public let silencer: Silencer
    public let notificationLog: NotificationLog
    public let journal: StateJournal
    public let stateStore: any StateStore
    private let logger: Logger
    private let output: AlertOutput
    private let clock: any WallClock

    public init(config: AlerterConfig, logger: Logger, clock: any WallClock = SystemWallClock(),
                stateStore: any StateStore = MemoryStateStore()) {
        self.config = config
        self.logger = logger
        self.clock = clock
        self.store = AlertStore(limits: .init(maxActiveAlerts: config.state.maxActiveAlerts))
        self.transitions = AlertTransitionBuffer()
        self.counters = IngestCounters()
        self.journal = StateJournal()
        self.stateStore = stateStore
        self.silencer = Silencer(journal: journal)
        self.notificationLog = NotificationLog(journal: journal)
        self.output = AlertOutput(logger: logger)
    }

    public func run() async throws {
        let natsConfig = config.nats
        let logger = self.logger
        logger.warning("state backend is memory and ingest uses core NATS: delivery is at-most-once and alert state is lost on restart")
        // State comes back before the first event is consumed.
        let persisted = try await stateStore.load()
        store.restore(persisted.alerts)
        silencer.restore(persisted.silences)
        notificationLog.restore(persisted.notificationLog)
        if !persisted.alerts.isEmpty || !persisted.silences.isEmpty {
            logger.info("state restored", metadata: [
                "alerts": .stringConvertible(persisted.alerts.count), "silences": .stringConvertible(persisted.silences.count),
                "notification_log_entries": .stringConvertible(persisted.notificationLog.count),
            ])
        }
        let connection = try await runBlocking("nats-alerter.connect") { () throws(NATSError) -> NATSConnection in
            try NATSConnection(configuration: natsConfig.connection, logger: logger)
        }
        // If libnats closes the connection for good (not our own drain), the
        // service cannot do its job: wake the loop so it fails loudly and a
        // supervisor can restart it, instead of sitting deaf.
        let transitions = self.transitions
        connection.onClosed { transitions.wake() }
        let ingestor = EventIngestor(
            store: store, transitions: transitions, counters: counters,
            limits: natsConfig.limits, logger: logger
        )
        var subscriptions: [NATSSubscription] = []
        for subject in natsConfig.subjects {
            do {
                subscriptions.append(try NATSSubscription(
                    connection: connection, subject: subject, queueGroup: natsConfig.queueGroup, handler: ingestor
                ))
            } catch {
                if connection.state == .closed, let reason = connection.lastError {
                    throw NATSError(operation: "subscribe to \(subject)", message: "NATS connection closed: \(reason)")
                }
                throw error
            }
        }
        var subscribed: Logger.Metadata = ["subjects": .array(natsConfig.subjects.map { .string($0) })]
        if let group = natsConfig.queueGroup { subscribed["queue_group"] = .string(group) }
        logger.info("subscribed; waiting for events", metadata: subscribed)

        let store = self.store
        let notifiers = try Notifiers(
            receivers: Array(config.receivers.values), templates: config.templates, retryPolicy: config.retryPolicy,
            externalURL: config.externalURL, logger: logger, lookup: { store.alert($0) },
            makeEmail: { [templates = config.templates, externalURL = config.externalURL] in
                EmailNotifier(configuration: $0, templates: templates, externalURL: externalURL)
            }
        )
        let delivery = Task { await notifiers.run() }
        for note in config.notes { logger.notice("configuration note", metadata: ["note": .string(note)]) }

        await cancelWhenGracefulShutdown {
            await self.runEngine(connection: connection, notifiers: notifiers)
        }
        if connection.state == .closed && !Task.isShuttingDownGracefully {
            transitions.drainNow().forEach(output.emit)
            let reason = connection.lastError ?? "closed by the client library"
            logger.critical("NATS connection closed for good; stopping", metadata: ["error": .string(reason)])
            throw NATSError(operation: "NATS connection", message: "closed: \(reason)")
        }

        logger.info("shutting down: draining NATS subscriptions")
        let toDrain = subscriptions
        let drainErrors = await runBlocking("nats-alerter.drain") { () -> [String] in
            var errors: [String] = []
            for subscription in toDrain {
                do { try subscription.drain(timeout: .seconds(10)) } catch { errors.append("\(error)") }
            }
            do { try connection.drain(timeout: .seconds(5)) } catch { errors.append("\(error)") }
            return errors
        }
        for error in drainErrors { logger.error("drain failed", metadata: ["error": .string(error)]) }
        transitions.drainNow().forEach(output.emit)
        // In-flight and queued notifications get a bounded grace period.
        notifiers.finish()
        let grace = Task {
            try? await Task.sleep(for: .seconds(10))
            delivery.cancel()
        }
        await delivery.value
        grace.cancel()
        await notifiers.close()
        logger.notice("stopped", metadata: [
            "event": "ingest_summary",
            "counters": .dictionary(counters.snapshot.mapValues { .stringConvertible($0) }),
            "active_alerts": .stringConvertible(store.activeCount),
            "nats_reconnects": .stringConvertible(connection.counters.reconnects),
            "slow_consumer_drops": .stringConvertible(subscriptions.reduce(Int64(0)) { $0 + $1.droppedCount }),
        ])
        withExtendedLifetime(subscriptions) {}
    }

    /// Writes journaled state changes to the state store. A failure is logged
    /// and the changes are kept for the next attempt, never dropped.
    private func persist() async {
        let changes = journal.drain()
        guard !changes.isEmpty else { return }
        do {
            try await stateStore.record(changes)
        } catch {
            logger.error("could not write state; will retry", metadata: ["error": .string("\(error)"), "changes": .stringConvertible(changes.count)])
            journal.prepend(changes)
        }
    }

    /// The engine loop: wakes for new transitions or for the engine's next
    /// deadline (a group flush, a resolve-timeout scan), whichever comes first.
    private func runEngine(connection: NATSConnection, notifiers: Notifiers) async {
        // The engine is owned by this task alone (it is not thread-safe).
        let engine = AlertEngine(
            configuration: config.engine, store: store, silencer: silencer, notificationLog: notificationLog,
            journal: journal, logger: logger
        )
        engine.adopt(store.activeAlerts() + store.resolvedAlerts(), at: clock.now())
        let transitions = self.transitions
        while !Task.isCancelled {
            let timer = engine.nextDeadline.map { deadline in
                let delay = max(0, deadline.timeIntervalSince(clock.now()))
                return Task {
                    try? await Task.sleep(for: .milliseconds(Int64(delay * 1000) + 1))
                    transitions.wake()
                }
            }
            let batch = await transitions.nextBatch()
            timer?.cancel()
            let now = clock.now()
            batch.forEach(output.emit)
            engine.apply(batch, at: now)
            for notification in engine.advance(to: now) {
                output.emit(notification)
                notifiers.dispatch(notification)
            }
            await persist()
            if connection.state == .closed { break }
        }
    }
}
