public import AlertCore
import AlertIngest
import AlertNotify
import Foundation
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
        // Durable mode is highly available: instances sharing the bucket prefix
        // elect one owner (docs/ARCHITECTURE.md, High availability).
        let ingest = try await NATSIngest.connect(nats, jetStream: nats.jetstream != nil || durableState, fenceConsumers: durableState, logger: logger)
        phaseDone("connect")
        // The events stream exists from the start, whichever instance of an HA
        // group ends up consuming it: events published meanwhile are kept.
        if let jetstream = nats.jetstream, let jetStream = ingest.jetStream {
            do {
                try await runBlocking("JetStream stream set-up") { () throws(NATSError) in
                    try jetStream.ensureStream(jetstream.stream, subscribed: nats.subjects)
                }
            } catch {
                await ingest.close()
                throw error
            }
        }
        var stateStore: any StateStore = DiscardingStateStore()
        var coordinator: HACoordinator?
        if durableState, let jetStream = ingest.jetStream {
            let settings = config.state.jetstream
            let shared = try await runBlocking("state bucket set-up") { () throws(NATSError) in
                try JetStreamStateStore(jetStream: jetStream, settings: settings, logger: logger)
            }
            stateStore = shared
            coordinator = try await runBlocking("HA lease and commit log set-up") { () throws(NATSError) in
                try HACoordinator(connection: ingest.connection, prefix: settings.bucketPrefix, bucket: settings.bucket, settings: config.ha,
                                  httpAddress: config.server.listenAddress, logger: logger, onLost: { _ in
                                      // Crash-only: nothing half-owned survives; the supervisor restarts this process as a standby.
                                      exit(HACoordinator.stepDownExitStatus)
                                  })
            }
            await ServerGuarantees.log(connection: ingest.connection, logger: logger)
        }
        phaseDone("state_store")

        // State comes back before the first event is consumed.
        let persisted = try await stateStore.load()
        phaseDone("load")
        await state.restore(persisted, at: clock.now())
        phaseDone("restore")
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
                    return outbox
                }
                outbox = started
                logger.info("notifications go through the durable outbox", metadata: [
                    "stream": .string(started.streamName), "pending": .stringConvertible(started.pendingCount() ?? -1),
                ])
            } else if durableState {
                logger.warning("state.jetstream.outbox.enabled is false: notifications queued in memory are lost if the process dies")
            }
            var ownership: HAOwnership?
            if let coordinator, let shared = stateStore as? JetStreamStateStore {
                let owned = HAOwnership(coordinator: coordinator, state: state, stateStore: shared, outbox: outbox,
                                        receivers: { Array(config.receivers.keys) }, clock: clock, logger: logger)
                // Batched event acks leave the process only while this instance owns the partition.
                ingest.gateAcknowledgements { owned.isOwner }
                ownership = owned
            }
            phaseDone("outbox")
            logger.info("start-up phases", metadata: phases)
            return Alerter(config: config, configPath: configPath, state: state, stateStore: stateStore, ingest: ingest,
                           notifiers: notifiers, outbox: outbox, listenerTLS: listenerTLS, clock: clock, logger: logger, startedAt: startedAt,
                           stateEvents: stateEvents, ownership: ownership)
        } catch {
            // Integrations hold HTTP clients, the outbox consumers: release them on every path.
            if let outbox { await outbox.shutdown(grace: .zero) } else { await notifiers.shutdown(grace: .zero) }
            await ingest.close()
            throw error
        }
    }
}
