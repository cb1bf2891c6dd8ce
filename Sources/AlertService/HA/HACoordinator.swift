import AlertCore
public import AlertIngest
import Foundation
public import Logging
import Synchronization

/// High availability of durable-mode instances sharing a bucket prefix
/// (docs/ARCHITECTURE.md, High availability): one owner per partition,
/// elected with a JetStream KV lease, fenced by a create-only commit log.
///
/// - **Lease**: key `partition.<p>` in bucket `<prefix>_leases` (TTL =
///   `ha.lease_ttl`, replicated like the state buckets). Acquired with
///   create-only (`kvStore_Create`), renewed by the owner with a
///   revision-checked update every `ha.renew_interval`. The owner counts
///   the lease valid until the last successful renew's *send* time + TTL −
///   margin on its monotonic clock; a refused renew or that deadline ends
///   ownership at once. Safety never rests on the update's revision check
///   alone (it can let two writers win on nats-server 2.9.10 replicated
///   buckets): it rests on the commit log.
/// - **Commit log**: stream `<PREFIX>_HA`, one subject per commit,
///   `<prefix>.ha.commit.<p>.<n>`, each published with
///   `Nats-Expected-Last-Subject-Sequence: 0`, so exactly one publisher can
///   create commit `n`. A new owner creates the next commit when it takes
///   over; the owner creates one before each engine step whose effects
///   leave the process (outbox, state writes, acks). An old owner that was
///   paused through a takeover finds its next commit taken and steps down
///   without acting.
/// - **Presence**: key `instance.<name>` in the same bucket, put every renew
///   interval by every instance (the peers of `/api/v2/status`).
public final class HACoordinator: Sendable {
    public struct Identity: Sendable, Codable, Equatable {
        public var instance: String
        /// Unique per process start: tells a restarted instance from its previous life.
        public var incarnation: String
        public var host: String
        public var pid: Int32
        /// The HTTP API's listen address, for the peers list.
        public var address: String
    }

    /// The lease's value.
    struct LeaseRecord: Codable {
        var holder: Identity
        var at: Date
    }

    /// A commit log message.
    struct Commit: Codable {
        var instance: String
        var incarnation: String
        var partition: Int
        var n: UInt64
        var kind: String
    }

    public enum Role: String, Sendable {
        case standby, active
        /// The owner whose lease is not confirmed (deadline passed, or a renew
        /// refused): it acts no more until it confirms that no other instance
        /// took the lease or committed meanwhile — then it resumes — or finds
        /// one did, and steps down.
        case suspended
        case steppedDown = "stepped_down", released
    }

    /// Why a commit did not happen.
    public enum CommitRefusal: Error, Sendable {
        /// NATS did not answer; try again (the step is held).
        case unavailable(String)
        /// This instance is no longer the owner (it is stepping down).
        case notOwner(String)
    }

    /// The exit status of a process that stepped down (EX_TEMPFAIL): its
    /// supervisor restarts it, and it comes back as a standby.
    public static let stepDownExitStatus: Int32 = 75

    public let identity: Identity
    public let partition = 0
    public let settings: AlerterConfig.HASection
    private let leases: KeyValueBucket
    private let jetStream: JetStream
    private let commitStream: String
    private let commitPrefix: String
    private let logger: Logger
    /// Called once when ownership is lost (the service exits: the
    /// supervisor restarts it as a standby).
    private let onLost: @Sendable (String) -> Void

    private struct State {
        var role = Role.standby
        var leaseRevision: UInt64 = 0
        var validUntil = ContinuousClock.now
        var lastCommit: UInt64 = 0
        var holder: String?
        var takeovers = 0
        var peers: [(name: String, address: String)] = []
        var peersReadAt: ContinuousClock.Instant?
    }

    private let state = Mutex(State())
    private let renewing = Mutex<Task<Void, Never>?>(nil)

    private var leaseKey: String { "partition.\(partition)" }
    private var presenceKey: String { "instance.\(identity.instance)" }

    /// Opens the lease bucket and the commit log (creating them if absent).
    /// Blocking: call through `runBlocking`.
    public init(connection: NATSConnection, prefix: String, bucket: KeyValueBucket.Settings, settings: AlerterConfig.HASection,
                httpAddress: String, logger: Logger, onLost: @escaping @Sendable (String) -> Void) throws(NATSError) {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        let pid = ProcessInfo.processInfo.processIdentifier
        identity = Identity(instance: settings.instance ?? "\(host)-\(pid)", incarnation: UUID().uuidString.lowercased(), host: host, pid: pid,
                            address: httpAddress)
        self.settings = settings
        self.logger = logger
        self.onLost = onLost
        // Lease calls must answer within a renew interval, or be retried.
        jetStream = try JetStream(connection: connection, requestTimeout: settings.renewInterval)
        var leaseSettings = bucket
        leaseSettings.history = 1
        leaseSettings.ttl = settings.leaseTTL
        // Set-up (creating an R3 bucket or stream can take seconds on a busy
        // cluster) waits as long as any JetStream request; only the lease's
        // renews and commits use the short timeout.
        let setup = try JetStream(connection: connection)
        _ = try KeyValueBucket(jetStream: setup, name: prefix + "_leases", settings: leaseSettings)
        leases = try KeyValueBucket(jetStream: jetStream, name: prefix + "_leases", settings: leaseSettings)
        commitStream = prefix.uppercased() + "_HA"
        commitPrefix = prefix + ".ha.commit"
        var stream = EventStreamConfiguration(name: commitStream, subjects: [commitPrefix + ".>"], create: true, duplicateWindow: .seconds(120),
                                              maxAge: .seconds(86400), replicas: bucket.replicas)
        stream.maxMessages = 100_000
        try setup.ensureStream(stream, subscribed: [commitPrefix + ".>"])
    }

    // MARK: State for the API and metrics

    public var role: Role { state.withLock { $0.role } }
    public var isActive: Bool { state.withLock { $0.role == .active && ContinuousClock.now < $0.validUntil } }
    public var takeovers: Int { state.withLock { $0.takeovers } }
    /// The instance holding the lease, as last seen (nil: none known).
    public var holder: String? { state.withLock { $0.role == .active ? identity.instance : $0.holder } }

    /// The instances present in the HA group (their presence keys), read at
    /// most every two seconds. Blocking: call through `runBlocking`.
    public func peers() -> [(name: String, address: String)] {
        if let cached = state.withLock({ s in s.peersReadAt.map { ContinuousClock.now - $0 < .seconds(2) } == true ? s.peers : nil }) {
            return cached
        }
        guard let entries = try? leases.loadAll() else { return state.withLock { $0.peers } }
        let peers = entries.filter { $0.key.hasPrefix("instance.") }
            .compactMap { try? JSONDecoder().decode(Identity.self, from: Data($0.value)) }
            .map { (name: $0.instance, address: $0.address) }
            .sorted { $0.name < $1.name }
        state.withLock {
            $0.peers = peers
            $0.peersReadAt = .now
        }
        return peers
    }

    // MARK: Acquire

    /// Waits until this instance holds the lease (true), or the task is
    /// cancelled (false). Polls create-only every quarter of the renew
    /// interval (at most 250 ms), so a released lease is taken within that;
    /// an expired one within the TTL + that.
    public func acquire() async -> Bool {
        let poll = min(settings.renewInterval / 4, .milliseconds(250))
        var lastPresence: ContinuousClock.Instant?
        var loggedHolder: String?
        while !Task.isCancelled {
            if lastPresence.map({ ContinuousClock.now - $0 >= settings.renewInterval }) ?? true {
                await announce()
                lastPresence = .now
            }
            switch await attemptLease() {
            case .won:
                return true
            case .held(let holder):
                if holder != loggedHolder {
                    loggedHolder = holder
                    logger.info("HA: standby", metadata: [
                        "instance": .string(identity.instance), "holder": .string(holder ?? "?"), "partition": .stringConvertible(partition),
                    ])
                }
            case .unreachable(let error):
                logger.debug("HA: lease not reachable; retrying", metadata: ["error": .string("\(error)")])
            }
            try? await Task.sleep(for: poll)
        }
        return false
    }

    /// One attempt at the lease, as each poll of `acquire` makes (presence
    /// announced first): true when this instance holds it now. Nothing is
    /// logged when another instance holds it (`acquire` says so). A new
    /// instance tries this before it follows the shared state as a standby
    /// (docs/ARCHITECTURE.md, Start-up).
    public func acquireOnce() async -> Bool {
        guard !Task.isCancelled else { return false }
        await announce()
        if case .won = await attemptLease() { return true }
        return false
    }

    private enum LeaseAttempt {
        case won
        /// Another instance holds it (nil: unknown who).
        case held(String?)
        case unreachable(NATSError)
    }

    /// A create-only write of the lease key (or an update taking over the
    /// lease of a previous process of this instance that is gone); on
    /// success the lease's revision and deadline are set.
    private func attemptLease() async -> LeaseAttempt {
        let sent = ContinuousClock.now
        let attempt = await runBlocking("HA lease acquire") { () -> Result<(KeyValueBucket.ConditionalWrite, LeaseRecord?), NATSError> in
            do throws(NATSError) {
                let written = try self.leases.create(self.leaseKey, self.record())
                if case .written = written { return .success((written, nil)) }
                let current = try self.leases.get(self.leaseKey)
                let record = current.flatMap { try? Self.decoder().decode(LeaseRecord.self, from: Data($0.value)) }
                // The holder is a previous life of this process's host and
                // name whose process is gone: take its lease now rather than
                // after the TTL (a restart after a crash). The commit log
                // still fences it, should it be alive after all.
                if let current, let record, self.isGone(record.holder) {
                    return .success((try self.leases.update(self.leaseKey, self.record(), revision: current.revision), record))
                }
                return .success((.refused, record))
            } catch {
                return .failure(error)
            }
        }
        switch attempt {
        case .success((.written(let revision), let previous)):
            state.withLock {
                $0.leaseRevision = revision
                $0.validUntil = sent + settings.leaseTTL - margin
            }
            if let previous {
                logger.notice("HA: the lease holder is a previous process of this host that is gone; taking over now", metadata: [
                    "previous": .string(previous.holder.instance), "previous_pid": .stringConvertible(previous.holder.pid),
                ])
            }
            return .won
        case .success((_, let record)):
            let holder = record?.holder.instance
            state.withLock { $0.holder = holder }
            return .held(holder)
        case .failure(let error):
            return .unreachable(error)
        }
    }

    /// Fences every earlier owner (creates the next commit), then keeps the
    /// lease renewed until released or lost. Throws when NATS did not answer
    /// long enough that the lease ran out (the caller steps down).
    public func takeOver() async throws(CommitRefusal) {
        let previousHolder = state.withLock { $0.holder }
        while true {
            guard ContinuousClock.now < state.withLock({ $0.validUntil }) else {
                throw .notOwner("the lease ran out before the commit log could be fenced")
            }
            let created = await runBlocking("HA fence") { () -> Result<UInt64?, NATSError> in
                do throws(NATSError) {
                    let last = try self.jetStream.lastMessage(stream: self.commitStream)
                    let n = last.flatMap { UInt64($0.subject.split(separator: ".").last ?? "") } ?? 0
                    return .success(try self.publishCommit(n + 1, kind: "takeover") ? n + 1 : nil)
                } catch {
                    return .failure(error)
                }
            }
            switch created {
            case .success(let n?):
                state.withLock {
                    $0.lastCommit = n
                    $0.role = .active
                    $0.holder = identity.instance
                    $0.takeovers += previousHolder == nil ? 0 : 1
                }
                logger.notice("HA: active", metadata: [
                    "instance": .string(identity.instance), "incarnation": .string(identity.incarnation),
                    "partition": .stringConvertible(partition), "commit": .stringConvertible(n),
                    "previous_holder": .string(previousHolder ?? "none"),
                ])
                startRenewing()
                return
            case .success(nil):
                continue  // another commit came in between: read again
            case .failure(let error):
                logger.warning("HA: commit log not reachable; retrying", metadata: ["error": .string("\(error)")])
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    // MARK: Commits

    /// Creates the next commit before a step's effects leave the process.
    /// Throws `.notOwner` (and steps down) when another instance created it
    /// or the lease ran out; `.unavailable` when NATS did not answer.
    public func commit() async throws(CommitRefusal) {
        let (valid, next) = state.withLock { ($0.role == .active && ContinuousClock.now < $0.validUntil, $0.lastCommit + 1) }
        guard valid else { throw .notOwner(stepDownReason()) }
        let created = await runBlocking("HA commit") { () -> Result<Bool, NATSError> in
            do throws(NATSError) { return .success(try self.publishCommit(next, kind: "step")) } catch { return .failure(error) }
        }
        switch created {
        case .success(true):
            state.withLock { $0.lastCommit = next }
        case .success(false):
            let reason = "fenced: another instance created commit \(next) (it took over while this one was not renewing)"
            stepDown(reason)
            throw .notOwner(reason)
        case .failure(let error):
            throw .unavailable("\(error)")
        }
    }

    private func publishCommit(_ n: UInt64, kind: String) throws(NATSError) -> Bool {
        let commit = Commit(instance: identity.instance, incarnation: identity.incarnation, partition: partition, n: n, kind: kind)
        let payload = (try? JSONEncoder().encode(commit)).map { [UInt8]($0) } ?? []
        return try jetStream.publishIfFirst(subject: "\(commitPrefix).\(partition).\(n)", payload: payload,
                                            messageID: "\(identity.incarnation).\(n)")
    }

    // MARK: Renew

    private var margin: Duration { min(.seconds(1), settings.leaseTTL / 4) }

    private func startRenewing() {
        let task = Task.detached { [self] in
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.renewLoop() }
                group.addTask { await self.watchdog() }
                await group.next()
                group.cancelAll()
            }
        }
        renewing.withLock { $0 = task }
    }

    /// Renews every interval while active; confirms the lease again while
    /// suspended (every quarter interval). Ends when ownership ends.
    private func renewLoop() async {
        let poll = min(settings.renewInterval / 4, .milliseconds(250))
        while !Task.isCancelled {
            switch role {
            case .active:
                try? await Task.sleep(for: settings.renewInterval)
                if role == .active { await renew() }
            case .suspended:
                try? await Task.sleep(for: poll)
                if role == .suspended { await confirm() }
            case .standby, .steppedDown, .released:
                return
            }
        }
    }

    /// One renew. No answer: retried next interval (the watchdog suspends
    /// ownership if none succeeds before the deadline). Refused: suspended
    /// at once — a renew that timed out may have been applied after all
    /// (libnats sends buffered requests on reconnect), which `confirm` finds.
    private func renew() async {
        let sent = ContinuousClock.now
        let revision = state.withLock { $0.leaseRevision }
        let result = await runBlocking("HA lease renew") { () -> Result<KeyValueBucket.ConditionalWrite, NATSError> in
            do throws(NATSError) { return .success(try self.leases.update(self.leaseKey, self.record(), revision: revision)) } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(.written(let next)):
            state.withLock {
                guard $0.role == .active else { return }
                $0.leaseRevision = next
                $0.validUntil = sent + settings.leaseTTL - margin
            }
            await announce()
        case .success(.refused):
            suspend("lease renew refused (the lease moved on from the revision this instance last wrote)")
        case .failure(let error):
            logger.warning("HA: lease renew got no answer; retrying until the lease runs out", metadata: [
                "error": .string("\(error)"), "remaining_ms": .stringConvertible(remainingMilliseconds),
            ])
        }
    }

    /// Suspends the moment the local deadline passes, whatever the renew
    /// calls are doing.
    private func watchdog() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(50))
            let (role, expired) = state.withLock { ($0.role, ContinuousClock.now >= $0.validUntil) }
            switch role {
            case .active where expired:
                suspend("lease deadline passed without a successful renew (NATS unreachable, or this process was paused)")
            case .active, .suspended:
                continue
            case .standby, .steppedDown, .released:
                return
            }
        }
    }

    private func suspend(_ reason: String) {
        let first = state.withLock { s -> Bool in
            guard s.role == .active else { return false }
            s.role = .suspended
            return true
        }
        guard first else { return }
        logger.error("HA: ownership suspended; nothing is sent, written or acked until the lease is confirmed", metadata: [
            "instance": .string(identity.instance), "partition": .stringConvertible(partition), "reason": .string(reason),
        ])
    }

    /// What the lease key says when a suspended owner looks.
    private enum Confirmation {
        case ours(UInt64)
        case other(String)
        case unknown
    }

    /// A suspended owner confirms its lease: the key still holds this
    /// incarnation (re-written now) or is free (created now), and the next
    /// commit is still free — no other instance acted meanwhile — then it
    /// resumes; otherwise it steps down.
    private func confirm() async {
        let sent = ContinuousClock.now
        let looked = await runBlocking("HA lease confirm") { () -> Result<Confirmation, NATSError> in
            do throws(NATSError) {
                guard let current = try self.leases.get(self.leaseKey) else {
                    if case .written(let revision) = try self.leases.create(self.leaseKey, self.record()) { return .success(.ours(revision)) }
                    return .success(.unknown)
                }
                let record = try? Self.decoder().decode(LeaseRecord.self, from: Data(current.value))
                guard let record, record.holder.incarnation == self.identity.incarnation else {
                    return .success(.other(record?.holder.instance ?? "?"))
                }
                if case .written(let revision) = try self.leases.update(self.leaseKey, self.record(), revision: current.revision) {
                    return .success(.ours(revision))
                }
                return .success(.unknown)
            } catch {
                return .failure(error)
            }
        }
        switch looked {
        case .success(.ours(let revision)):
            let next = state.withLock { $0.lastCommit + 1 }
            let committed = await runBlocking("HA commit") { () -> Result<Bool, NATSError> in
                do throws(NATSError) { return .success(try self.publishCommit(next, kind: "resume")) } catch { return .failure(error) }
            }
            switch committed {
            case .success(true):
                state.withLock {
                    $0.leaseRevision = revision
                    $0.lastCommit = next
                    $0.validUntil = sent + settings.leaseTTL - margin
                    $0.role = .active
                }
                logger.notice("HA: lease confirmed; resuming (no other instance acted meanwhile)", metadata: [
                    "instance": .string(identity.instance), "commit": .stringConvertible(next),
                ])
            case .success(false):
                stepDown("another instance committed (created commit \(next)) while this one's lease was not confirmed")
            case .failure:
                break  // try again
            }
        case .success(.other(let holder)):
            stepDown("the lease is held by \(holder) (it expired while this instance was not renewing)")
        case .success(.unknown), .failure:
            break  // try again
        }
    }

    private var remainingMilliseconds: Int64 {
        let remaining = state.withLock { $0.validUntil } - ContinuousClock.now
        return remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000
    }

    private func stepDownReason() -> String {
        switch role {
        case .active: "lease deadline passed without a successful renew"
        case .suspended: "ownership suspended until the lease is confirmed"
        case .standby: "this instance does not hold the lease"
        case .steppedDown: "this instance stepped down"
        case .released: "the lease was released (shutting down)"
        }
    }

    /// Stops acting at once and says why; `onLost` then ends the process.
    func stepDown(_ reason: String) {
        let first = state.withLock { s -> Bool in
            guard s.role == .active || s.role == .suspended else { return false }
            s.role = .steppedDown
            return true
        }
        guard first else { return }
        logger.critical("HA: stepping down", metadata: [
            "instance": .string(identity.instance), "partition": .stringConvertible(partition), "reason": .string(reason),
        ])
        onLost(reason)
    }

    // MARK: Release

    /// Graceful shutdown, after the final state write: deletes the lease (if
    /// still ours) so a standby takes over at once, and the presence key.
    public func release() async {
        renewing.withLock { $0?.cancel() }
        let wasActive = state.withLock { s -> Bool in
            defer { if s.role == .active || s.role == .standby { s.role = .released } }
            return s.role == .active
        }
        // Logged before the delete: once it is deleted a standby may log "HA: active"
        // at once, and this instance has already stopped acting (final write done).
        if wasActive {
            logger.notice("HA: lease released", metadata: ["instance": .string(identity.instance), "partition": .stringConvertible(partition)])
        }
        await runBlocking("HA lease release") {
            if wasActive, let current = try? self.leases.get(self.leaseKey),
               let record = try? Self.decoder().decode(LeaseRecord.self, from: Data(current.value)),
               record.holder.incarnation == self.identity.incarnation {
                try? self.leases.delete(self.leaseKey)
            }
            try? self.leases.delete(self.presenceKey)
        }
    }

    // MARK: Helpers

    private func record() -> [UInt8] {
        (try? Self.encoder().encode(LeaseRecord(holder: identity, at: Date()))).map { [UInt8]($0) } ?? []
    }

    private func announce() async {
        let value = (try? JSONEncoder().encode(identity)).map { [UInt8]($0) } ?? []
        await runBlocking("HA presence") { _ = try? self.leases.put(self.presenceKey, value) }
    }

    /// A holder that is an earlier process of this instance (same name, same
    /// host) that no longer runs: its pid is this process's (a container
    /// restarted) or no process has it. A restart under the same name takes
    /// its own lease back at once instead of after the TTL.
    private func isGone(_ holder: Identity) -> Bool {
        guard holder.host == identity.host, holder.instance == identity.instance, holder.incarnation != identity.incarnation else { return false }
        if holder.pid == identity.pid { return true }
        return kill(holder.pid, 0) == -1 && errno == ESRCH
    }

    private static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    private static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
