public import AlertCore
import AlertIngest
public import Logging
public import ServiceLifecycle
import Foundation
import Synchronization

/// Ingest and the engine loop: connects to NATS, subscribes to the
/// configured subjects, and turns events into alerts and notifications.
///
/// Ingest happens on libnats' delivery threads (`EventIngestor`); this
/// service's task drains the transition buffer in batches, steps the engine
/// and hands notifications to the notifiers. On graceful shutdown
/// (SIGTERM/SIGINT) it drains the NATS subscriptions — messages already
/// received are fully processed — runs the engine once more, gives queued
/// notifications a grace period, writes state, and logs the final counters.
public final class IngestService: Service {
    public let runtime: AlerterRuntime
    private let output: AlertOutput
    /// Notifications decided while the state store could not be written.
    private let heldNotifications = Mutex<[AlertCore.Notification]>([])
    /// When firing alerts' `lastSeen` and repeat counts were last written.
    private let lastActivityFlush = Mutex<Date?>(nil)
    /// How often `lastSeen` and repeat counts of firing alerts are written
    /// (they change on every duplicate, so they are not journaled one by one).
    public static let activityFlushInterval: Double = 30

    public init(runtime: AlerterRuntime) {
        self.runtime = runtime
        self.output = AlertOutput(logger: runtime.logger)
    }

    /// Convenience for a runtime built from `config`.
    public convenience init(config: AlerterConfig, logger: Logger, clock: any WallClock = SystemWallClock()) {
        self.init(runtime: AlerterRuntime(config: config, configPath: nil, logger: logger, clock: clock))
    }

    public var store: AlertStore { runtime.store }

    public func run() async throws {
        let runtime = self.runtime
        let logger = runtime.logger
        let config = runtime.config
        let natsConfig = config.nats
        if natsConfig.jetstream == nil && config.state.backend == .memory {
            logger.warning("state backend is memory and ingest uses core NATS: delivery is at-most-once and alert state is lost on restart")
        } else if natsConfig.jetstream == nil {
            logger.warning("ingest uses core NATS: events published while the service is down are lost (state is kept in JetStream KV)")
        } else if config.state.backend == .memory {
            logger.warning("state backend is memory: alert state is lost on restart (ingest is at-least-once through JetStream)")
        }

        let connection = try await runBlocking("nats-alerter.connect") { () throws(NATSError) -> NATSConnection in
            try NATSConnection(configuration: natsConfig.connection, logger: logger)
        }
        runtime.setConnection(connection)
        var jetStream: JetStream?
        if natsConfig.jetstream != nil || config.state.backend == .jetstream {
            jetStream = try JetStream(connection: connection)
        }
        if config.state.backend == .jetstream, let jetStream {
            let settings = config.state.jetstream
            let store = try await runBlocking("nats-alerter.kv") { () throws(NATSError) in
                try JetStreamStateStore(jetStream: jetStream, settings: settings, logger: logger)
            }
            runtime.setStateStore(store)
        }

        // State comes back before the first event is consumed.
        let persisted = try await runtime.stateStore.load()
        runtime.store.restore(persisted.alerts)
        runtime.silencer.restore(persisted.silences)
        runtime.notificationLog.restore(persisted.notificationLog)
        runtime.rules.restore(persisted.ruleSeries, at: runtime.clock.now())
        await runtime.engine.adopt(runtime.store.activeAlerts() + runtime.store.resolvedAlerts(), at: runtime.clock.now())
        logger.info("state loaded", metadata: [
            "backend": .string(config.state.backend.rawValue), "alerts": .stringConvertible(persisted.alerts.count),
            "silences": .stringConvertible(persisted.silences.count),
            "notification_log_entries": .stringConvertible(persisted.notificationLog.count),
            "rule_series": .stringConvertible(persisted.ruleSeries.count),
        ])
        runtime.markStateLoaded()
        runtime.recordInitialLoad()
        try runtime.startNotifiers(for: config)
        for note in config.notes { logger.notice("configuration note", metadata: ["note": .string(note)]) }
        do {
            if config.state.backend == .jetstream, config.state.outbox.enabled, let jetStream {
                let settings = config.state.jetstream
                let outbox = try await runBlocking("nats-alerter.outbox") { () throws(NATSError) in
                    let outbox = try NotificationOutbox(runtime: runtime, jetStream: jetStream, prefix: settings.bucketPrefix, bucket: settings.bucket,
                                                        settings: config.state.outbox, deadLetterSubject: natsConfig.jetstream?.deadLetterSubject)
                    try outbox.start()
                    return outbox
                }
                runtime.setOutbox(outbox)
                logger.info("notifications go through the durable outbox", metadata: [
                    "stream": .string(outbox.streamName), "pending": .stringConvertible(outbox.pendingCount() ?? -1),
                ])
            } else if config.state.backend == .jetstream {
                logger.warning("state.jetstream.outbox.enabled is false: notifications queued in memory are lost if the process dies")
            }
            try await ingest(config: config, connection: connection, jetStream: jetStream)
        } catch {
            // Notifiers hold HTTP clients that must be shut down on every path.
            await runtime.stopNotifiers(grace: .seconds(2))
            throw error
        }
    }

    private func ingest(config: AlerterConfig, connection: NATSConnection, jetStream: JetStream?) async throws {
        let runtime = self.runtime
        let logger = runtime.logger

        let natsConfig = config.nats
        // If libnats closes the connection for good (not our own drain), the
        // service cannot do its job: wake the loop so it fails loudly and a
        // supervisor can restart it, instead of sitting deaf.
        let transitions = runtime.transitions
        connection.onClosed { transitions.wake() }
        var deadLetter: EventIngestor.DeadLetter?
        if let jetstream = natsConfig.jetstream, let subject = jetstream.deadLetterSubject {
            deadLetter = { original, payload, rejection in
                runtime.recordDeadLetteredEvent(reason: rejection.reason.rawValue)
                try? connection.publish(subject: subject, payload: payload, headers: [
                    ("Nats-Alerter-Reject-Reason", rejection.reason.rawValue),
                    ("Nats-Alerter-Reject-Detail", String(rejection.detail.prefix(1000)).replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")),
                    ("Nats-Alerter-Original-Subject", original),
                ])
            }
        }
        if let jetstream = natsConfig.jetstream, let jetStream {
            try await runBlocking("nats-alerter.stream") { () throws(NATSError) in
                try jetStream.ensureStream(jetstream.stream, subscribed: natsConfig.subjects)
            }
        }
        for (index, subject) in natsConfig.subjects.enumerated() {
            // One handler per subscription, so counters are per subscribed subject.
            let counters = IngestCounters()
            let ingestor = EventIngestor(store: runtime.store, transitions: transitions, counters: counters,
                                         limits: natsConfig.limits, clock: runtime.clock, logger: logger, deadLetter: deadLetter,
                                         rules: runtime.rules.isEmpty ? nil : runtime.rules)
            do {
                if let jetstream = natsConfig.jetstream, let jetStream {
                    var consumer = jetstream.consumer
                    if natsConfig.subjects.count > 1 { consumer.durable += "-\(index)" }
                    let subscription = try JetStreamConsumer(jetStream: jetStream, stream: jetstream.stream.name, subject: subject,
                                                             consumer: consumer, handler: ingestor)
                    runtime.addSubscription(subject, subscription, counters)
                } else {
                    let subscription = try NATSSubscription(connection: connection, subject: subject, queueGroup: natsConfig.queueGroup, handler: ingestor)
                    runtime.addSubscription(subject, subscription, counters)
                }
            } catch {
                if connection.state == .closed, let reason = connection.lastError {
                    throw NATSError(operation: "subscribe to \(subject)", message: "NATS connection closed: \(reason)")
                }
                throw error
            }
        }
        // Metric samples for the rules: core NATS (a sample is a periodic
        // measurement; the rules' windows, not the samples, are what is kept).
        let sampleSubjects = runtime.rules.sampleSubjects
        for subject in sampleSubjects {
            let counters = IngestCounters()
            let ingestor = SampleIngestor(rules: runtime.rules, transitions: transitions, counters: counters,
                                          limits: natsConfig.limits, clock: runtime.clock, logger: logger)
            let subscription = try NATSSubscription(connection: connection, subject: subject, queueGroup: natsConfig.queueGroup, handler: ingestor)
            runtime.addSubscription(subject, subscription, counters)
        }
        var subscribed: Logger.Metadata = ["subjects": .array(natsConfig.subjects.map { .string($0) })]
        if !runtime.rules.isEmpty {
            subscribed["rules"] = .stringConvertible(runtime.rules.rules.count)
            subscribed["sample_subjects"] = .array(sampleSubjects.map { .string($0) })
        }
        if let jetstream = natsConfig.jetstream {
            subscribed["stream"] = .string(jetstream.stream.name)
            subscribed["durable"] = .string(jetstream.consumer.durable)
        }
        if let group = natsConfig.queueGroup { subscribed["queue_group"] = .string(group) }
        logger.info("subscribed; waiting for events", metadata: subscribed)

        await cancelWhenGracefulShutdown {
            await self.runEngine(connection: connection)
        }
        if connection.state == .closed && !Task.isShuttingDownGracefully {
            await step(runtime.transitions.drainNow())
            let reason = connection.lastError ?? "closed by the client library"
            logger.critical("NATS connection closed for good; stopping", metadata: ["error": .string(reason)])
            throw NATSError(operation: "NATS connection", message: "closed: \(reason)")
        }

        runtime.markDraining()
        logger.info("shutting down: draining NATS subscriptions")
        let toDrain = runtime.subscriptions
        // Subscriptions first: every message already received is handled.
        // The connection stays open until state is written (KV needs it).
        let drainErrors = await runBlocking("nats-alerter.drain") { () -> [String] in
            var errors: [String] = []
            for subscription in toDrain {
                do { try subscription.drain(timeout: .seconds(10)) } catch { errors.append("\(error)") }
            }
            return errors
        }
        for error in drainErrors { logger.error("drain failed", metadata: ["error": .string(error)]) }
        await step(runtime.transitions.drainNow())
        // Deliveries still waiting on a receiver go back to JetStream for the next process.
        await runtime.outbox?.stop(grace: .seconds(5))
        await runtime.stopNotifiers(grace: .seconds(10))
        flushActivity(now: runtime.clock.now(), force: true)
        // The final write: a silence posted after it would be lost, so the API refuses them from here on.
        runtime.silencer.close()
        if !(await persist()) {
            logger.error("shutting down with state not written; the unacknowledged events will be redelivered")
        }
        let closeError = await runBlocking("nats-alerter.close") { () -> String? in
            do { try connection.drain(timeout: .seconds(5)) } catch { return "\(error)" }
            return nil
        }
        if let closeError { logger.error("closing the NATS connection failed", metadata: ["error": .string(closeError)]) }
        var totals: [String: Int] = [:]
        for (_, counters, _, _) in runtime.ingestCounters {
            totals.merge(counters.snapshot) { $0 + $1 }
        }
        logger.notice("stopped", metadata: [
            "event": "ingest_summary",
            "counters": .dictionary(totals.mapValues { .stringConvertible($0) }),
            "active_alerts": .stringConvertible(runtime.store.activeCount),
            "nats_reconnects": .stringConvertible(connection.counters.reconnects),
            "slow_consumer_drops": .stringConvertible(runtime.ingestCounters.reduce(Int64(0)) { $0 + $1.dropped }),
        ])
    }

    /// Applies transitions, runs what is due, and sends the notifications on.
    private func step(_ batch: [AlertTransition]) async {
        let now = runtime.clock.now()
        let batch = batch + runtime.rules.advance(to: now)
        batch.forEach(output.emit)
        runtime.recordTriggered(batch)
        let notifications = await runtime.engine.step(batch, at: now)
        flushActivity(now: now)
        // Record first, then act: events are acknowledged, and notifications
        // sent, only once the state store has their effect — so a crash can
        // never make the service notify the same thing twice.
        let acknowledgements = runtime.transitions.takeAcknowledgements()
        let ready = heldNotifications.withLock { held in
            defer { held = [] }
            return held + notifications
        }
        if let outbox = runtime.outbox {
            await stepDurably(ready, outbox: outbox, acknowledgements: acknowledgements)
            return
        }
        guard await persist() else {
            // Not recorded: hold everything for the next successful write.
            runtime.transitions.returnAcknowledgements(acknowledgements)
            heldNotifications.withLock { $0.insert(contentsOf: ready, at: 0) }
            return
        }
        for acknowledgement in acknowledgements { acknowledgement.ack() }
        let notifiers = runtime.notifiers
        for notification in ready {
            output.emit(notification)
            notifiers?.dispatch(notification)
        }
    }

    /// Durable mode: notifications into the outbox, then the decisions
    /// (notification log) into the state store, then the events' acks. A
    /// crash between the first two makes the engine take the same decisions
    /// again, and the outbox drops them by their id.
    private func stepDurably(_ ready: [AlertCore.Notification], outbox: NotificationOutbox, acknowledgements: [any Acknowledgeable]) async {
        let published: Int = await runBlocking("nats-alerter.outbox-publish") {
            for (index, notification) in ready.enumerated() {
                do { try outbox.publish(notification) } catch {
                    self.runtime.logger.error("could not store notifications in the outbox; holding them and the events for the next attempt", metadata: [
                        "error": .string("\(error)"), "held": .stringConvertible(ready.count - index),
                    ])
                    return index
                }
            }
            return ready.count
        }
        for notification in ready[..<published] { output.emit(notification) }
        guard published == ready.count else {
            runtime.transitions.returnAcknowledgements(acknowledgements)
            heldNotifications.withLock { $0.insert(contentsOf: ready[published...], at: 0) }
            return
        }
        guard await persist() else {
            runtime.transitions.returnAcknowledgements(acknowledgements)
            return
        }
        for acknowledgement in acknowledgements { acknowledgement.ack() }
    }

    /// Journals the firing alerts seen again since the last flush.
    private func flushActivity(now: Date, force: Bool = false) {
        let since: Date? = lastActivityFlush.withLock { last in
            if !force, let previous = last, now.timeIntervalSince(previous) < Self.activityFlushInterval { return nil }
            defer { last = now }
            return last ?? runtime.startedAt
        }
        guard let since else { return }
        runtime.rules.journalChanges()
        let changed = runtime.store.activeAlerts(seenAfter: since)
        runtime.journal.append(contentsOf: changed.map(StateChange.alertUpserted))
    }

    /// Writes journaled state changes to the state store. A failure is logged
    /// and the changes are kept for the next attempt, never dropped.
    @discardableResult
    private func persist() async -> Bool {
        let changes = runtime.journal.drain()
        guard !changes.isEmpty else { return true }
        do {
            try await runtime.stateStore.record(changes)
            return true
        } catch {
            runtime.logger.error("could not write state; will retry", metadata: ["error": .string("\(error)"), "changes": .stringConvertible(changes.count)])
            runtime.journal.prepend(changes)
            return false
        }
    }

    /// The engine loop: wakes for new transitions or for the engine's next
    /// deadline (a group flush, a resolve-timeout scan), whichever comes first.
    private func runEngine(connection: NATSConnection) async {
        let transitions = runtime.transitions
        // One timer for the engine's next deadline, re-armed only when the
        // deadline moves: a sleeping task per batch would pile thousands of
        // dispatch timers up under load. A cancelled timer must not wake the
        // loop (that once made an idle service spin).
        var timer: (deadline: Date, task: Task<Void, Never>)?
        while !Task.isCancelled {
            let deadline = [await runtime.engine.nextDeadline, runtime.rules.nextDeadline].compactMap { $0 }.min()
            // Re-armed too when the deadline is due: the timer may have fired a
            // hair early by the wall clock, leaving the work for this wake-up.
            if timer?.deadline != deadline || deadline.map({ $0 <= runtime.clock.now() }) == true {
                timer?.task.cancel()
                timer = deadline.map { deadline in
                    let delay = max(0, deadline.timeIntervalSince(runtime.clock.now()))
                    return (deadline, Task {
                        do {
                            try await Task.sleep(for: .milliseconds(Int64(delay * 1000) + 1))
                            transitions.wake()
                        } catch {}
                    })
                }
            }
            let batch = await transitions.nextBatch()
            await step(batch)
            if connection.state == .closed { break }
        }
        timer?.task.cancel()
    }
}
