public import AlertCore
import AlertIngest
public import AlertNotify
public import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// The engine loop: the only consumer of ingest's transitions. It steps the
/// engine on each batch and at the engine's deadlines (group flushes,
/// resolve timeouts, rule evaluations), records the resulting state changes,
/// acknowledges the events behind them, and hands notifications to the sink
/// (docs/ARCHITECTURE.md, Data flow and Durability).
///
/// Phases (`StateMachine`): loading → running (subscribed) → draining
/// (graceful shutdown: subscriptions drained, every message received is
/// processed, deliveries get a grace period, state is written) → stopped.
/// If libnats closes the connection for good, the loop processes what it
/// has and throws, so a supervisor restarts the process instead of leaving
/// it deaf.
public final class EngineLoop: Service, Sendable {
    /// How often `lastSeen` and repeat counts of firing alerts are written
    /// (they change on every duplicate, so they are not journaled one by one).
    public static let activityFlushInterval: Double = 30
    /// What deliveries get at shutdown to finish.
    public static let shutdownGrace: Duration = .seconds(10)

    private let state: AlertingState
    private let stateStore: any StateStore
    private let ingest: (any EventSource)?
    private let sink: any NotificationSink
    private let clock: any WallClock
    private let logger: Logger
    private let output: AlertOutput
    private let machine = Mutex(StateMachine())
    /// When firing alerts' activity was last journaled (touched by the loop's task only).
    private let lastActivityFlush = Mutex<Date?>(nil)
    private let startedAt: Date
    private let triggered = Mutex<[String: Int]>([:])
    private let stateEvents: StateEventPublisher?
    /// High availability (durable mode): nil runs as the only instance.
    let ownership: (any Ownership)?
    private let commitFailureLog = LogInterval(.seconds(10))

    /// - Parameter ingest: nil runs the loop without a source (tests): it
    ///   then steps on whatever is put into `state.transitions`.
    public init(state: AlertingState, stateStore: any StateStore, ingest: (any EventSource)?, sink: any NotificationSink,
                clock: any WallClock, logger: Logger, startedAt: Date, stateEvents: StateEventPublisher? = nil,
                ownership: (any Ownership)? = nil) {
        self.ownership = ownership
        self.state = state
        self.stateEvents = stateEvents
        self.stateStore = stateStore
        self.ingest = ingest
        self.sink = sink
        self.clock = clock
        self.logger = logger
        self.output = AlertOutput(logger: logger)
        self.startedAt = startedAt
    }

    /// `/-/ready` as far as the loop knows (the NATS connection is checked by the caller).
    public var readiness: (ready: Bool, reason: String) {
        let (phase, readiness) = machine.withLock { ($0.phase, $0.readiness) }
        // A standby is ready once another instance is known to own the
        // partition; before that the election is still open (a lone
        // instance becomes ready when it has subscribed, as without HA).
        if phase == .standby, !(ownership?.ownedElsewhere ?? false) { return (false, "electing the partition's owner") }
        return readiness
    }

    /// The loop consumes transitions (subscribed, not draining): on a
    /// standby it does not (docs/ARCHITECTURE.md, High availability).
    public var isRunning: Bool { machine.withLock { $0.phase == .running } }

    /// New alerts per type since start (`alerts_triggered_total{alert_type}`).
    public var alertsTriggeredByType: [String: Int] { triggered.withLock { $0 } }

    /// Events and notifications held because the state store or the outbox
    /// could not be written (for tests and logs).
    public var held: (acknowledgements: Int, notifications: Int) { machine.withLock { $0.heldCount } }

    public func run() async throws {
        if let ownership {
            // A standby until this instance owns the partition (docs/ARCHITECTURE.md, High availability).
            guard machine.withLock({ $0.standby() }) else { return }
            let owner = await cancelWhenGracefulShutdown { await ownership.becomeOwner() }
            guard owner, machine.withLock({ $0.owner() }) else {
                machine.withLock { $0.stopped() }
                await sink.shutdown(grace: .seconds(2))
                await ownership.release()
                await ingest?.close()
                if Task.isShuttingDownGracefully { return }
                // Not a shutdown: this instance stepped down during its takeover.
                throw NATSError(operation: "HA takeover", message: "this instance stepped down while taking over")
            }
        }
        do {
            try await ingest?.subscribe(state, clock: clock)
        } catch {
            // The sink holds HTTP clients (and outbox consumers) that must be released on every path.
            await sink.shutdown(grace: .seconds(2))
            throw error
        }
        guard machine.withLock({ $0.subscribed() }) else { return }
        async let delivery: Void = sink.run()
        let ingestEnded = await cancelWhenGracefulShutdown { await self.runSteps() }
        if ingestEnded && !Task.isShuttingDownGracefully {
            _ = machine.withLock { $0.beginDraining() }
            await sink.shutdown(grace: .seconds(2))
            await delivery
            machine.withLock { $0.stopped() }
            let reason = ingest?.failure ?? "closed"
            logger.critical("NATS connection closed for good; stopping", metadata: ["error": .string(reason)])
            throw NATSError(operation: "NATS connection", message: "closed: \(reason)")
        }
        await drain()
        await delivery
        machine.withLock { $0.stopped() }
    }

    /// Steps until cancelled (graceful shutdown) or until ingest ends for
    /// good (true then).
    private func runSteps() async -> Bool {
        while !Task.isCancelled {
            let deadline = [await state.engine.nextDeadline, state.rules.nextDeadline].compactMap { $0 }.min()
            let batch = await nextBatch(until: deadline)
            await step(batch)
            if batch.finished { return true }
        }
        return false
    }

    /// The next batch of transitions, or what came by `deadline` (possibly
    /// nothing) — whichever is first. The wait races the two in a task
    /// group; whatever the losing side took is kept, never dropped.
    private func nextBatch(until deadline: Date?) async -> TransitionBatch {
        let transitions = state.transitions
        let ready = transitions.drainNow()
        if !ready.isEmpty || ready.finished { return ready }
        guard let deadline else { return await transitions.nextBatch() }
        let delay = deadline.timeIntervalSince(clock.now())
        if delay <= 0 { return ready }
        return await withTaskGroup(of: TransitionBatch?.self) { group in
            group.addTask { await transitions.nextBatch() }
            group.addTask {
                // A millisecond past the deadline, so the engine finds it due.
                try? await Task.sleep(for: .milliseconds(Int64(delay * 1000) + 1))
                return nil
            }
            var batch = TransitionBatch()
            if let first = await group.next() { batch = first ?? batch }
            group.cancelAll()
            for await other in group {
                guard let other else { continue }
                batch.transitions += other.transitions
                batch.acknowledgements += other.acknowledgements
                batch.finished = batch.finished || other.finished
            }
            return batch
        }
    }

    /// Applies transitions, runs what is due, records, acknowledges and
    /// hands notifications on — in the order that keeps the guarantees:
    ///
    /// - memory sink: record, then acknowledge, then submit. A crash can
    ///   lose a notification, never send one twice.
    /// - durable sink: submit (stored in the outbox), then record, then
    ///   acknowledge. A crash after the submit makes the engine decide the
    ///   same notification again under the same id, and the outbox drops
    ///   the copy.
    ///
    /// What cannot be done now is held: the events stay unacknowledged and
    /// the notifications wait for the next step.
    func step(_ batch: TransitionBatch) async {
        let now = clock.now()
        let transitions = batch.transitions + state.rules.advance(to: now)
        transitions.forEach(output.emit)
        // Non-blocking: into libnats' outgoing buffer (docs/ARCHITECTURE.md, Control plane).
        stateEvents?.publish(transitions, at: now)
        recordTriggered(transitions)
        let (decided, timedOut) = await state.engine.stepReportingTimeouts(transitions, at: now)
        stateEvents?.publish(timedOut.map(AlertTransition.resolved), at: now)
        flushActivity(now: now)
        let (acknowledgements, notifications) = machine.withLock {
            $0.beginStep(acknowledgements: batch.acknowledgements, notifications: decided)
        }
        // High availability: nothing leaves the process unless this instance
        // still owns the partition and created the next commit (the fence).
        if let ownership, !acknowledgements.isEmpty || !notifications.isEmpty || !state.journal.isEmpty {
            do throws(HACoordinator.CommitRefusal) {
                try await ownership.commit()
            } catch {
                if case .unavailable(let reason) = error {
                    if commitFailureLog.admit() {
                        logger.error("HA: commit log not reachable; holding this step's effects (logged at most every 10 s)",
                                     metadata: ["error": .string(reason)])
                    }
                    // No answer (a leader election): do not hammer the server.
                    try? await Task.sleep(for: .milliseconds(100))
                }
                machine.withLock { $0.hold(acknowledgements: acknowledgements, notifications: notifications[...]) }
                return
            }
        }
        var submitted = 0
        if sink.isDurable {
            submitted = await sink.submit(notifications)
            notifications[..<submitted].forEach(output.emit)
            guard submitted == notifications.count else {
                machine.withLock { $0.hold(acknowledgements: acknowledgements, notifications: notifications[submitted...]) }
                return
            }
        }
        guard ownership?.isOwner ?? true, await persist() else {
            machine.withLock { $0.hold(acknowledgements: acknowledgements, notifications: notifications[submitted...]) }
            return
        }
        guard ownership?.isOwner ?? true else { return }
        for acknowledgement in acknowledgements { acknowledgement.ack() }
        if !sink.isDurable {
            notifications.forEach(output.emit)
            _ = await sink.submit(notifications)
        }
    }

    /// Graceful shutdown, in order: no new messages, every message received
    /// processed, deliveries finished or handed back, state written, the
    /// connection closed.
    private func drain() async {
        guard machine.withLock({ $0.beginDraining() }) else { return }
        logger.info("shutting down: draining NATS subscriptions")
        await ingest?.drain()
        await step(state.transitions.drainNow())
        await sink.shutdown(grace: Self.shutdownGrace)
        flushActivity(now: clock.now(), force: true)
        // The final write: a silence posted after it would be lost, so the API refuses them from here on.
        state.silencer.close()
        if !(await persist()) {
            logger.error("shutting down with state not written; the unacknowledged events will be redelivered")
        }
        // The last batched acks, of recorded events only, while this instance still owns the partition.
        ingest?.finishAcknowledgements()
        // A standby takes over at once rather than after the lease's TTL.
        await ownership?.release()
        await ingest?.close()
        var summary = ingest?.summary ?? [:]
        summary["event"] = "ingest_summary"
        summary["active_alerts"] = .stringConvertible(state.store.activeCount)
        logger.notice("stopped", metadata: summary)
    }

    /// Journals the firing alerts seen again since the last flush. Not with
    /// `state.backend: memory` (a `DiscardingStateStore`): it would copy
    /// every alert seen, up to all of them, every 30 s for nothing.
    private func flushActivity(now: Date, force: Bool = false) {
        guard !(stateStore is DiscardingStateStore) else { return }
        let since: Date? = lastActivityFlush.withLock { last in
            if !force, let previous = last, now.timeIntervalSince(previous) < Self.activityFlushInterval { return nil }
            defer { last = now }
            return last ?? startedAt
        }
        guard let since else { return }
        state.rules.journalChanges()
        state.journal.append(contentsOf: state.store.activeAlerts(seenAfter: since).map(StateChange.alertUpserted))
    }

    /// Writes journaled state changes to the state store. A failure is logged
    /// and the changes are kept for the next attempt, never dropped.
    private func persist() async -> Bool {
        let changes = state.journal.drain()
        guard !changes.isEmpty else { return true }
        do {
            try await stateStore.record(changes)
            return true
        } catch {
            logger.error("could not write state; will retry", metadata: ["error": .string("\(error)"), "changes": .stringConvertible(changes.count)])
            state.journal.prepend(changes)
            return false
        }
    }

    func recordTriggered(_ transitions: [AlertTransition]) {
        let types = transitions.compactMap { transition -> String? in
            if case .fired(let alert) = transition { return alert.labels["alertname"] ?? "" }
            return nil
        }
        guard !types.isEmpty else { return }
        triggered.withLock { counts in
            for type in types { counts[type, default: 0] += 1 }
        }
    }
}
