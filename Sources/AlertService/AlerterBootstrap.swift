public import AlertCore
import AlertIngest
import AlertNotify
public import Logging

extension Alerter {
    /// Assembles a running nats-alerter before the service group starts
    /// (docs/ARCHITECTURE.md, Start-up): connects to NATS, opens the state
    /// store and restores state from it, builds the integrations and, in
    /// durable mode, the outbox with a consumer per integration (so what a
    /// previous process left there is delivered). Subscribing is the engine
    /// loop's first step, once it runs.
    ///
    /// - Throws: `ListenerTLSError` first, before anything connects, when
    ///   `server.tls_server_config` cannot be read as a certificate and key;
    ///   then what stops the service from starting (NATS refused the
    ///   credentials, the state bucket cannot be opened). Everything started
    ///   so far is released first.
    public static func start(config: AlerterConfig, configPath: String?, logger: Logger,
                             clock: any WallClock = SystemWallClock()) async throws -> Alerter {
        let listenerTLS = try config.server.tls.map(ListenerTLS.init(files:))
        let nats = config.nats
        let durableState = config.state.backend == .jetstream
        if nats.jetstream == nil && !durableState {
            logger.warning("state backend is memory and ingest uses core NATS: delivery is at-most-once and alert state is lost on restart")
        } else if nats.jetstream == nil {
            logger.warning("ingest uses core NATS: events published while the service is down are lost (state is kept in JetStream KV)")
        } else if !durableState {
            logger.warning("state backend is memory: alert state is lost on restart (ingest is at-least-once through JetStream)")
        }
        let startedAt = clock.now()
        // How long each phase takes, logged once (docs/ARCHITECTURE.md, Start-up).
        let phaseClock = ContinuousClock()
        var phaseStarted = phaseClock.now
        var phases: Logger.Metadata = [:]
        func phaseDone(_ name: String) {
            let now = phaseClock.now
            let elapsed = (now - phaseStarted).components
            let milliseconds = Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15
            phases[name + "_ms"] = .string("\((milliseconds * 10).rounded() / 10)")
            phaseStarted = now
        }
        let state = AlertingState(config: config, logger: logger)
        let ingest = try await NATSIngest.connect(nats, jetStream: nats.jetstream != nil || durableState, logger: logger)
        phaseDone("connect")
        var stateStore: any StateStore = MemoryStateStore()
        if durableState, let jetStream = ingest.jetStream {
            let settings = config.state.jetstream
            stateStore = try await runBlocking("state bucket set-up") { () throws(NATSError) in
                try JetStreamStateStore(jetStream: jetStream, settings: settings, logger: logger)
            }
        }
        phaseDone("state_store")

        // State comes back before the first event is consumed.
        let persisted = try await stateStore.load()
        phaseDone("load")
        await state.restore(persisted, at: clock.now())
        phaseDone("restore")
        if let kv = stateStore as? JetStreamStateStore, kv.legacyRecordCount > 0 {
            // Records of the JSON format before this one: rewritten binary in the background, never delaying readiness.
            let found = kv.legacyRecordCount
            Task {
                do {
                    let rewritten = try await kv.rewriteLegacyRecords()
                    logger.info("JSON state records rewritten in the binary format", metadata: [
                        "found": .stringConvertible(found), "rewritten": .stringConvertible(rewritten),
                    ])
                } catch {
                    logger.warning("rewriting JSON state records stopped; they still load, and the next start goes on",
                                   metadata: ["error": .string("\(error)"), "left": .stringConvertible(kv.legacyRecordCount)])
                }
            }
        }
        logger.info("state loaded", metadata: [
            "backend": .string(config.state.backend.rawValue), "alerts": .stringConvertible(persisted.alerts.count),
            "silences": .stringConvertible(persisted.silences.count),
            "notification_log_entries": .stringConvertible(persisted.notificationLog.count),
            "rule_series": .stringConvertible(persisted.ruleSeries.count),
        ])

        let notifiers = Self.notifiers(for: state, logger: logger)
        var stateEvents: StateEventPublisher?
        if nats.control.enabled {
            let publisher = StateEventPublisher(connection: ingest.connection, silencer: state.silencer, settings: nats.control, logger: logger)
            notifiers.history.observe { publisher.publish($0) }
            stateEvents = publisher
        }
        var outbox: NotificationOutbox?
        do {
            try notifiers.configure(receivers: Array(config.receivers.values), templates: config.templates, retryPolicy: config.retryPolicy,
                                    externalURL: config.externalURL)
            phaseDone("integrations")
            for note in config.notes { logger.notice("configuration note", metadata: ["note": .string(note)]) }
            if durableState, config.state.outbox.enabled, let jetStream = ingest.jetStream {
                let settings = config.state.jetstream
                let started = try await runBlocking("outbox set-up") { () throws(NATSError) in
                    let outbox = try NotificationOutbox(notifiers: notifiers, notificationLog: state.notificationLog, jetStream: jetStream,
                                                        prefix: settings.bucketPrefix, bucket: settings.bucket, settings: config.state.outbox,
                                                        deadLetterSubject: nats.jetstream?.deadLetterSubject, logger: logger)
                    try outbox.start(receivers: Array(config.receivers.keys))
                    return outbox
                }
                outbox = started
                logger.info("notifications go through the durable outbox", metadata: [
                    "stream": .string(started.streamName), "pending": .stringConvertible(started.pendingCount() ?? -1),
                ])
            } else if durableState {
                logger.warning("state.jetstream.outbox.enabled is false: notifications queued in memory are lost if the process dies")
            }
            phaseDone("outbox")
            logger.info("start-up phases", metadata: phases)
            return Alerter(config: config, configPath: configPath, state: state, stateStore: stateStore, ingest: ingest,
                           notifiers: notifiers, outbox: outbox, listenerTLS: listenerTLS, clock: clock, logger: logger, startedAt: startedAt,
                           stateEvents: stateEvents)
        } catch {
            // Integrations hold HTTP clients, the outbox consumers: release them on every path.
            if let outbox { await outbox.shutdown(grace: .zero) } else { await notifiers.shutdown(grace: .zero) }
            await ingest.close()
            throw error
        }
    }
}
