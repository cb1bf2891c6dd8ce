import AlertCore
import AlertIngest
import AlertNotify
@testable import AlertService
import Foundation
import Logging
import Synchronization
import Testing

/// What the fakes did, in order, across all of them.
final class Happenings: Sendable {
    private let entries = Mutex<[String]>([])
    func add(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }
    func clear() { entries.withLock { $0 = [] } }
}

/// An event's acknowledgement that says when it was acked.
struct RecordingAcknowledgement: Acknowledgeable {
    let name: String
    let happenings: Happenings
    func ack() { happenings.add("ack \(name)") }
}

/// A state store that can be taken down, like KV during a NATS outage.
final class FlakyStateStore: StateStore {
    let happenings: Happenings
    let down = Atomic<Bool>(false)
    private let stored = MemoryStateStore()

    init(_ happenings: Happenings) { self.happenings = happenings }

    func load() async throws -> PersistedState { try await stored.load() }

    func record(_ changes: [StateChange]) async throws {
        if down.load(ordering: .relaxed) {
            happenings.add("record refused")
            throw NATSError(operation: "KV put", message: "no responders")
        }
        happenings.add("record")
        try await stored.record(changes)
    }
}

/// A sink that takes notifications (or refuses them, like an outbox whose
/// stream cannot be written) and remembers them.
final class RecordingSink: NotificationSink {
    let isDurable: Bool
    let happenings: Happenings
    let refusing = Atomic<Bool>(false)
    /// Runs in `shutdown`: what a delivery given up at shutdown does (its
    /// notification-log entry is put back, a change to write).
    let onShutdown = Mutex<(@Sendable () -> Void)?>(nil)
    private let taken = Mutex<[AlertCore.Notification]>([])
    private let stop = AsyncStream<Void>.makeStream()

    init(durable: Bool, _ happenings: Happenings) {
        isDurable = durable
        self.happenings = happenings
    }

    var notifications: [AlertCore.Notification] { taken.withLock { $0 } }

    func submit(_ notifications: [AlertCore.Notification]) async -> Int {
        guard !notifications.isEmpty else { return 0 }
        if refusing.load(ordering: .relaxed) {
            happenings.add("submit refused")
            return 0
        }
        happenings.add("submit \(notifications.map(\.groupKey.alertname).joined(separator: ","))")
        taken.withLock { $0 += notifications }
        return notifications.count
    }

    func run() async {
        for await _ in stop.stream {}
    }

    func shutdown(grace: Duration) async {
        happenings.add("sink shutdown")
        onShutdown.withLock { $0 }?()
        stop.continuation.finish()
    }
}

/// An event source standing in for NATS: records its lifecycle, and hands
/// one last event over while it drains (a message that arrived just before
/// SIGTERM).
final class FakeEventSource: EventSource {
    let happenings: Happenings
    let lastEvent: @Sendable () -> Void

    init(_ happenings: Happenings, lastEvent: @escaping @Sendable () -> Void = {}) {
        self.happenings = happenings
        self.lastEvent = lastEvent
    }

    func subscribe(_ state: AlertingState, clock: any WallClock) async throws { happenings.add("subscribe") }
    func drain() async {
        lastEvent()
        happenings.add("drain")
    }
    func close() async { happenings.add("close") }
    var failure: String { "connection closed by the test" }
    var summary: Logger.Metadata { [:] }
}

/// High availability standing in for the lease and the commit log: commits
/// are refused (another owner, or no answer) until the test says otherwise.
final class FakeOwnership: Ownership {
    let happenings: Happenings
    let refusal = Mutex<HACoordinator.CommitRefusal?>(nil)

    init(_ happenings: Happenings) { self.happenings = happenings }

    func becomeOwner() async -> Bool { true }
    func commit() async throws(HACoordinator.CommitRefusal) {
        if let refusal = refusal.withLock({ $0 }) {
            happenings.add("commit refused")
            throw refusal
        }
        happenings.add("commit")
    }
    var isOwner: Bool { refusal.withLock { $0 == nil } }
    var ownedElsewhere: Bool { false }
    func release() async { happenings.add("release") }
}

extension String {
    /// `{}:{alertname="disk_full"}` → `disk_full`.
    fileprivate var alertname: String {
        guard let start = range(of: "alertname=\"") else { return self }
        return String(self[start.upperBound...].prefix { $0 != "\"" })
    }
}

/// The engine loop in-process: fakes for the state store, the sink and the
/// events' acknowledgements stand in for JetStream, so the order of record,
/// acknowledge and submit is checked step by step.
@Suite("Engine loop: record, acknowledge and submit in the order that keeps the guarantees")
struct EngineLoopTests {
    let happenings = Happenings()
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func makeLoop(durable: Bool, groupWait: String = "0s", ownership: (any Ownership)? = nil,
                  source: ((AlertingState) -> any EventSource)? = nil) throws -> (EngineLoop, AlertingState, FlakyStateStore, RecordingSink) {
        let config = try ConfigLoader.parse(yaml: """
            nats: {subjects: ["system.>"]}
            route: {receiver: team, group_by: [alertname], group_wait: \(groupWait), group_interval: 1m, repeat_interval: 1h}
            receivers: [{name: team}]
            """)
        let state = AlertingState(config: config, logger: logger)
        let store = FlakyStateStore(happenings)
        let sink = RecordingSink(durable: durable, happenings)
        let loop = EngineLoop(state: state, stateStore: store, ingest: source?(state), sink: sink, clock: SystemWallClock(), logger: logger,
                              startedAt: Date(), ownership: ownership)
        return (loop, state, store, sink)
    }

    @Test("HA: a step commits before anything leaves the process; refused (fenced, or no answer) nothing is stored, recorded or acked, and all of it goes out once when the commit succeeds")
    func commitGatesEveryEffect() async throws {
        let ownership = FakeOwnership(happenings)
        let (loop, state, store, sink) = try makeLoop(durable: true, ownership: ownership)
        await loop.step(event("first", into: state))
        #expect(happenings.all == ["commit", "submit first", "record", "ack first"])

        for (name, refusal): (String, HACoordinator.CommitRefusal) in [("second", .notOwner("fenced")), ("third", .unavailable("no answer"))] {
            happenings.clear()
            ownership.refusal.withLock { $0 = refusal }
            await loop.step(event(name, into: state))
            #expect(happenings.all == ["commit refused"])
        }
        #expect(sink.notifications.count == 1)
        #expect(try await store.load().notificationLog.count == 1)
        #expect(loop.held == (acknowledgements: 2, notifications: 2))

        happenings.clear()
        ownership.refusal.withLock { $0 = nil }
        await loop.step(TransitionBatch())
        #expect(happenings.all == ["commit", "submit second,third", "record", "ack second", "ack third"])
        #expect(loop.held == (acknowledgements: 0, notifications: 0))
    }

    @Test("HA: a step with nothing to send, write or ack needs no commit")
    func idleStepNeedsNoCommit() async throws {
        let ownership = FakeOwnership(happenings)
        let (loop, _, _, _) = try makeLoop(durable: true, ownership: ownership)
        await loop.step(TransitionBatch())
        #expect(happenings.all.isEmpty)
    }

    /// An event as ingest hands it over: applied to the store, its transition batched with its acknowledgement.
    func event(_ name: String, into state: AlertingState) -> TransitionBatch {
        let transition = state.store.apply(AlertEvent(alertType: name, severity: .critical, subject: "system.x"), receivedAt: Date())
        return TransitionBatch(transitions: [transition], acknowledgements: [RecordingAcknowledgement(name: name, happenings: happenings)])
    }

    @Test("memory sink: the decision is recorded before the event is acked and the notification submitted")
    func recordBeforeAckAndSubmit() async throws {
        let (loop, state, _, sink) = try makeLoop(durable: false)
        await loop.step(event("disk_full", into: state))
        #expect(happenings.all == ["record", "ack disk_full", "submit disk_full"])
        #expect(sink.notifications.count == 1)
    }

    @Test("memory sink: while the state store is down nothing is acked or sent; both go out, once and in order, when it is back")
    func heldWhileStoreDown() async throws {
        let (loop, state, store, sink) = try makeLoop(durable: false)
        store.down.store(true, ordering: .relaxed)
        for name in ["first", "second", "third"] { await loop.step(event(name, into: state)) }
        #expect(happenings.all == ["record refused", "record refused", "record refused"])
        #expect(sink.notifications.isEmpty)
        #expect(loop.held == (acknowledgements: 3, notifications: 3))

        happenings.clear()
        store.down.store(false, ordering: .relaxed)
        await loop.step(TransitionBatch())
        #expect(happenings.all == ["record", "ack first", "ack second", "ack third", "submit first,second,third"])
        #expect(loop.held == (acknowledgements: 0, notifications: 0))
        // The journal kept every change while the store was down: the alerts are recorded.
        let recorded = try await store.load()
        #expect(Set(recorded.alerts.compactMap { $0.labels["alertname"] }) == ["first", "second", "third"])
    }

    @Test("durable sink: the notification is stored before its decision is recorded, and the event acked last")
    func outboxBeforeLog() async throws {
        let (loop, state, _, sink) = try makeLoop(durable: true)
        await loop.step(event("disk_full", into: state))
        #expect(happenings.all == ["submit disk_full", "record", "ack disk_full"])
        #expect(sink.notifications.count == 1)
    }

    @Test("durable sink: a notification the outbox cannot store holds its decision and its event; nothing is recorded until it is stored")
    func outboxDownHoldsEverything() async throws {
        let (loop, state, store, sink) = try makeLoop(durable: true)
        sink.refusing.store(true, ordering: .relaxed)
        await loop.step(event("disk_full", into: state))
        #expect(happenings.all == ["submit refused"])
        #expect(loop.held == (acknowledgements: 1, notifications: 1))
        #expect(try await store.load().notificationLog.isEmpty)

        happenings.clear()
        sink.refusing.store(false, ordering: .relaxed)
        await loop.step(TransitionBatch())
        #expect(happenings.all == ["submit disk_full", "record", "ack disk_full"])
        #expect(try await store.load().notificationLog.count == 1)
    }

    @Test("durable sink: stored but not recorded (state store down) keeps the event unacked; the notification is not stored twice")
    func storedButNotRecorded() async throws {
        let (loop, state, store, sink) = try makeLoop(durable: true)
        store.down.store(true, ordering: .relaxed)
        await loop.step(event("disk_full", into: state))
        #expect(happenings.all == ["submit disk_full", "record refused"])
        #expect(loop.held == (acknowledgements: 1, notifications: 0))

        happenings.clear()
        store.down.store(false, ordering: .relaxed)
        await loop.step(TransitionBatch())
        #expect(happenings.all == ["record", "ack disk_full"])
        #expect(sink.notifications.count == 1)
    }

    @Test("running: the loop wakes for a group flush with no event arriving, and at shutdown processes what it received, stops the sink, then writes state")
    func runAndShutDown() async throws {
        let (loop, state, store, sink) = try makeLoop(durable: false, groupWait: "300ms")
        let running = Task { try await loop.run() }
        for _ in 0..<500 where !loop.readiness.ready { try await Task.sleep(for: .milliseconds(10)) }
        #expect(loop.readiness == (true, "ready"))

        let first = event("disk_full", into: state)
        state.transitions.append(first.transitions[0], acknowledgement: first.acknowledgements[0])
        // No further event: only the group_wait deadline can bring the notification.
        for _ in 0..<1000 where sink.notifications.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        #expect(sink.notifications.map(\.groupKey.alertname) == ["disk_full"])

        happenings.clear()
        sink.onShutdown.withLock { $0 = { state.journal.append(.notificationLogRemoved(receiver: "team", groupKey: "given-up")) } }
        let last = event("node_down", into: state)
        state.transitions.append(last.transitions[0], acknowledgement: last.acknowledgements[0])
        running.cancel()  // what a graceful shutdown does to the loop
        try await running.value
        let order = happenings.all
        #expect(order.contains("ack node_down"), "\(order)")
        #expect(order.suffix(2) == ["sink shutdown", "record"], "\(order)")
        #expect(loop.readiness == (false, "shutting down"))
        #expect(try await store.load().alerts.count == 2)
        // The final write is done: a silence posted now would be lost, so it is refused.
        #expect(throws: SilenceError.self) {
            try state.silencer.upsert(Silence(matchers: [try Matcher(name: "a", type: .equal, value: "b")], startsAt: Date(),
                                              endsAt: Date().addingTimeInterval(60), createdBy: "t", comment: "c"), now: Date())
        }
    }

    @Test("shutdown order: subscriptions drained (the event received during the drain is processed and acked), the sink stopped, state written, then the connection closed")
    func shutdownOrder() async throws {
        let happenings = self.happenings
        let (loop, state, store, sink) = try makeLoop(durable: false, source: { state in
            FakeEventSource(happenings) {
                let transition = state.store.apply(AlertEvent(alertType: "late", severity: .critical, subject: "system.x"), receivedAt: Date())
                state.transitions.append(transition, acknowledgement: RecordingAcknowledgement(name: "late", happenings: happenings))
            }
        })
        // A delivery given up at shutdown puts its notification-log entry back: a change the final write must carry.
        sink.onShutdown.withLock { $0 = { state.journal.append(.notificationLogRemoved(receiver: "team", groupKey: "given-up")) } }
        let running = Task { try await loop.run() }
        for _ in 0..<500 where !loop.readiness.ready { try await Task.sleep(for: .milliseconds(10)) }
        running.cancel()
        try await running.value
        #expect(happenings.all == ["subscribe", "drain", "record", "ack late", "submit late", "sink shutdown", "record", "close"])
        #expect(try await store.load().alerts.map { $0.labels["alertname"] } == ["late"])
    }

    @Test("ingest ending for good (the connection closed): what was received is processed, the sink is stopped, and the loop fails loudly")
    func ingestEnded() async throws {
        let (loop, state, _, sink) = try makeLoop(durable: false, source: { [happenings] _ in FakeEventSource(happenings) })
        let running = Task { try await loop.run() }
        for _ in 0..<500 where !loop.readiness.ready { try await Task.sleep(for: .milliseconds(10)) }
        let last = event("received_before_close", into: state)
        state.transitions.append(last.transitions[0], acknowledgement: last.acknowledgements[0])
        state.transitions.finish()
        await #expect(throws: NATSError.self) { try await running.value }
        #expect(sink.notifications.map(\.groupKey.alertname) == ["received_before_close"])
        #expect(happenings.all.suffix(2) == ["submit received_before_close", "sink shutdown"])
        #expect(loop.readiness == (false, "shutting down"))
    }
}
