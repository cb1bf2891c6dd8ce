import AlertCore
import AlertIngest
import Foundation
import Logging
import Synchronization

/// What the engine loop needs of high availability (docs/ARCHITECTURE.md,
/// High availability): wait as a standby until this instance owns the
/// partition, commit before each step's effects, release at shutdown.
/// `HAOwnership` in the service; tests may fake it.
public protocol Ownership: Sendable {
    /// Waits as a standby (serving the API from the shared state) until
    /// this instance owns the partition and has taken over the shared state;
    /// false when cancelled first (graceful shutdown).
    func becomeOwner() async -> Bool
    /// Before a step's effects leave the process: throws when they must not
    /// (no answer from NATS: hold them; another owner: never).
    func commit() async throws(HACoordinator.CommitRefusal)
    /// This instance owns the partition right now (a local check).
    var isOwner: Bool { get }
    /// Another instance is known to own the partition (this one is a standby).
    var ownedElsewhere: Bool { get }
    /// Graceful shutdown, after the final state write.
    func release() async
}

/// The service's `Ownership`: the lease and commit log (`HACoordinator`),
/// a standby's view of the shared state (`SharedStateFollower`), and the
/// takeover: fence, reload the shared state, recreate the outbox consumers.
/// The event consumer is recreated when the loop subscribes
/// (`NATSIngest`, fenced consumers).
public final class HAOwnership: Ownership {
    public let coordinator: HACoordinator
    private let state: AlertingState
    private let stateStore: JetStreamStateStore
    private let outbox: NotificationOutbox?
    private let receivers: @Sendable () -> [String]
    private let clock: any WallClock
    private let logger: Logger
    private let follower: SharedStateFollower
    /// Cleared by the first `becomeOwner`: only it may start from the state
    /// `Alerter.start` loaded.
    private let firstTakeover = Atomic<Bool>(true)

    init(coordinator: HACoordinator, state: AlertingState, stateStore: JetStreamStateStore, outbox: NotificationOutbox?,
         receivers: @escaping @Sendable () -> [String], clock: any WallClock, logger: Logger) {
        self.coordinator = coordinator
        self.state = state
        self.stateStore = stateStore
        self.outbox = outbox
        self.receivers = receivers
        self.clock = clock
        self.logger = logger
        follower = SharedStateFollower(state: state, stateStore: stateStore, clock: clock, logger: logger)
    }

    public var isOwner: Bool { coordinator.isActive }
    public var ownedElsewhere: Bool { coordinator.role == .standby && coordinator.holder != nil }

    public func commit() async throws(HACoordinator.CommitRefusal) {
        try await coordinator.commit()
    }

    public func becomeOwner() async -> Bool {
        var started = ContinuousClock.now
        // Start-up (docs/ARCHITECTURE.md, Start-up): `Alerter.start` has just
        // loaded the shared state. If the lease is free, take it before
        // following the buckets as a standby (whose initial values would be
        // the whole state again); if nothing moved since the load, the fenced
        // owner starts from what was loaded, without reading it a third time.
        var firstAttempt = firstTakeover.exchange(false, ordering: .relaxed)
        var asLoaded = false
        while true {
            let acquired: Bool
            if firstAttempt, await coordinator.acquireOnce() {
                acquired = true
                asLoaded = true
            } else {
                follower.start(silencesOnly: false)
                acquired = await coordinator.acquire()
                await follower.stop()
                asLoaded = false
            }
            firstAttempt = false
            guard acquired else { return false }
            started = .now
            do throws(HACoordinator.CommitRefusal) {
                try await coordinator.takeOver()
                break
            } catch {
                // The lease ran out before the fence was in place: nothing was
                // done as owner; stand by and try again.
                logger.warning("HA: takeover abandoned; standing by again", metadata: ["reason": .string("\(error)")])
            }
        }
        // The previous owner is fenced: what it wrote is final. Start from it:
        // as loaded at start-up if no bucket moved since (checked only now,
        // after the fence, so no earlier owner can move it any more), else
        // read afresh.
        if asLoaded, await stillOwner(), (try? await stateStore.unchangedSinceLoad()) == true {
            rewriteLegacyRecords()
            logger.info("HA: shared state taken over as loaded at start-up (no bucket changed since)", metadata: [
                "active_alerts": .stringConvertible(state.store.activeCount),
            ])
        } else {
            guard await reloadSharedState() else { return false }
        }
        // Silences written through a standby's API reach the owner this way.
        follower.start(silencesOnly: true)
        if let outbox {
            while await stillOwner() {
                do {
                    try await runBlocking("outbox takeover") { () throws(NATSError) in try outbox.takeOver(receivers: self.receivers()) }
                    break
                } catch {
                    logger.error("HA: could not take over the outbox consumers; retrying", metadata: ["error": .string("\(error)")])
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        logger.info("HA: takeover complete", metadata: [
            "ms": .stringConvertible(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000),
        ])
        return await stillOwner()
    }

    /// Reads the shared state afresh into the store, silencer, notification
    /// log and rules, and re-adopts every alert (a new owner after the
    /// fence); retried until it succeeds. False once this instance stepped down.
    private func reloadSharedState() async -> Bool {
        while true {
            guard await stillOwner() else { return false }
            do {
                let persisted = try await stateStore.load()
                let now = clock.now()
                state.store.removeAll()
                state.store.restore(persisted.alerts)
                state.silencer.replaceAll(persisted.silences)
                state.notificationLog.replaceAll(persisted.notificationLog)
                state.rules.restore(persisted.ruleSeries, at: now)
                await state.engine.readopt(at: now)
                rewriteLegacyRecords()
                logger.info("HA: shared state taken over", metadata: [
                    "alerts": .stringConvertible(persisted.alerts.count), "silences": .stringConvertible(persisted.silences.count),
                    "notification_log_entries": .stringConvertible(persisted.notificationLog.count),
                ])
                return true
            } catch {
                logger.error("HA: could not read the shared state; retrying", metadata: ["error": .string("\(error)")])
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// Active, or suspended and then confirmed (a renew that stalled while
    /// the takeover ran); false once this instance stepped down.
    private func stillOwner() async -> Bool {
        while coordinator.role == .suspended && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(100)) }
        return coordinator.role == .active
    }

    /// Records of the JSON format before the binary one, found by the load:
    /// rewritten binary in the background by the owner (the one writer of
    /// the shared state), never delaying readiness.
    private func rewriteLegacyRecords() {
        let kv = stateStore, logger = self.logger
        let found = kv.legacyRecordCount
        guard found > 0 else { return }
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

    public func release() async {
        await follower.stop()
        await coordinator.release()
    }
}

/// A standby's view of the owner's state: follows the shared buckets and
/// puts each change into this process's store, silencer and notification
/// log (not journaled: it is already stored), refreshes the groups the API
/// shows once a second when alerts changed, and writes the standby's own
/// silence changes (its API's writes) to the shared state, where the owner
/// picks them up. On the owner it follows the silences only.
final class SharedStateFollower: Sendable {
    private let state: AlertingState
    private let stateStore: JetStreamStateStore
    private let clock: any WallClock
    private let logger: Logger
    private let running = Mutex<(watches: [KeyValueWatch], watching: Task<Void, Never>?, task: Task<Void, Never>?)>(([], nil, nil))
    private let alertsChanged = Atomic<Bool>(false)
    private let followLog = LogInterval(.seconds(10))

    init(state: AlertingState, stateStore: JetStreamStateStore, clock: any WallClock, logger: Logger) {
        self.state = state
        self.stateStore = stateStore
        self.clock = clock
        self.logger = logger
    }

    /// Starts following (the watches are set up on the blocking pool, tried
    /// again every second while NATS does not answer, in the background: a
    /// takeover during a leader election must not leave the owner deaf to
    /// the silences standbys write).
    func start(silencesOnly: Bool) {
        let state = self.state, stateStore = self.stateStore, logger = self.logger
        let onChange: @Sendable (JetStreamStateStore.SharedChange) -> Void = { change in
            switch change {
            case .alert(let alert):
                state.store.replace(alert)
                self.alertsChanged.store(true, ordering: .relaxed)
            case .alertRemoved(let fingerprint):
                state.store.remove(fingerprint)
                self.alertsChanged.store(true, ordering: .relaxed)
            case .silence(let silence):
                // Never older over newer: our own write may be ahead of its echo.
                if let held = state.silencer.silence(id: silence.id), held.updatedAt > silence.updatedAt { return }
                state.silencer.restore([silence])
            case .silenceRemoved(let id):
                state.silencer.forget(id: id)
            case .notificationLogged(let entry):
                state.notificationLog.restore([entry])
            }
        }
        let watching = Task.detached { [self] in
            var failures = 0
            while !Task.isCancelled {
                do {
                    let watches = try await runBlocking("HA shared state follow") { () throws(NATSError) in
                        try stateStore.follow(silencesOnly: silencesOnly, onChange: onChange)
                    }
                    // Stopped meanwhile: these watches are nobody's.
                    let kept = running.withLock { running in
                        guard running.watching != nil else { return false }
                        running.watches = watches
                        return true
                    }
                    if !kept { watches.forEach { $0.stop() } }
                    if failures > 0 { logger.notice("HA: following the shared state again", metadata: ["attempts": .stringConvertible(failures + 1)]) }
                    return
                } catch {
                    if failures == 0 || followLog.admit() {
                        logger.error("HA: cannot follow the shared state yet; trying again every second (logged at most every 10 s)",
                                     metadata: ["error": .string("\(error)"), "attempts": .stringConvertible(failures + 1)])
                    }
                    failures += 1
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
        let task: Task<Void, Never>? = silencesOnly ? nil : Task.detached { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                await self.writeJournal()
                if alertsChanged.exchange(false, ordering: .relaxed) {
                    await state.engine.readopt(at: clock.now())
                }
            }
        }
        running.withLock { $0 = ([], watching, task) }
    }

    /// A standby's API writes (silences) go to the shared state.
    private func writeJournal() async {
        let changes = state.journal.drain()
        guard !changes.isEmpty else { return }
        do {
            try await stateStore.record(changes)
        } catch {
            state.journal.prepend(changes)
            logger.warning("HA: standby could not write its changes; retrying", metadata: ["error": .string("\(error)")])
        }
    }

    func stop() async {
        let (watches, watching, task) = running.withLock { running in
            defer { running = ([], nil, nil) }
            return running
        }
        watching?.cancel()
        await watching?.value
        watches.forEach { $0.stop() }
        task?.cancel()
        await task?.value
        await writeJournal()
    }
}
