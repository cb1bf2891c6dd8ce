import AlertCore
import AlertIngest
import Foundation
import Logging
import Testing

/// The durable state store on a real nats-server with JetStream.
@Suite("JetStream KV state store")
struct JetStreamStateStoreTests {
    func connect(_ url: String) async throws -> JetStream {
        let connection = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [url], name: "kv-test"), logger: quietLogger)
        }
        return try JetStream(connection: connection)
    }

    @Test("alerts, silences and notification-log entries survive a new store instance; removals too")
    func roundTrip() async throws {
        let directory = try makeTemporaryDirectory("kv")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let store = try JetStreamStateStore(jetStream: try await connect(nats.url), settings: .init(bucketPrefix: "t1"), logger: quietLogger)

        let alertStore = AlertStore()
        var alerts: [Alert] = []
        for index in 0..<50 {
            if case .fired(let alert) = alertStore.apply(AlertEvent(alertType: "disk_full", source: "n\(index)", summary: "s",
                                                                    currentValue: 91.5, subject: "system.x"), receivedAt: Date(timeIntervalSince1970: 1_800_000_000)) {
                alerts.append(alert)
            }
        }
        let silence = Silence(id: "6f1c1e40-0000-4000-8000-000000000001", matchers: [try Matcher(name: "source", type: .regexMatch, value: "n1.*")],
                              startsAt: Date(timeIntervalSince1970: 1_800_000_000), endsAt: Date(timeIntervalSince1970: 1_800_003_600),
                              createdBy: "oncall", comment: "maintenance", updatedAt: Date(timeIntervalSince1970: 1_800_000_000))
        let entry = NotificationLogEntry(receiver: "team", groupKey: #"{}/{a="b"}:{alertname="disk_full"}"#, firing: [alerts[0].fingerprint],
                                         resolved: [], timestamp: Date(timeIntervalSince1970: 1_800_000_030), expiresAt: Date(timeIntervalSince1970: 1_800_432_030))
        try await store.record(alerts.map(StateChange.alertUpserted) + [.silenceUpserted(silence), .notificationLogged(entry)])
        try await store.record([.alertRemoved(alerts[49].fingerprint)])

        let reopened = try JetStreamStateStore(jetStream: try await connect(nats.url), settings: .init(bucketPrefix: "t1"), logger: quietLogger)
        let loaded = try await reopened.load()
        #expect(Set(loaded.alerts.map(\.fingerprint)) == Set(alerts.prefix(49).map(\.fingerprint)))
        #expect(loaded.alerts.first { $0.fingerprint == alerts[0].fingerprint } == alerts[0])
        #expect(loaded.silences == [silence])
        #expect(loaded.notificationLog == [entry])
    }

    @Test("unchangedSinceLoad: true while no bucket moved since the load; a write, a delete or another store's write makes it false")
    func unchangedSinceLoad() async throws {
        let directory = try makeTemporaryDirectory("kv-unchanged")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let store = try JetStreamStateStore(jetStream: try await connect(nats.url), settings: .init(bucketPrefix: "t5"), logger: quietLogger)
        let other = try JetStreamStateStore(jetStream: try await connect(nats.url), settings: .init(bucketPrefix: "t5"), logger: quietLogger)
        // No load yet: nothing to compare with.
        #expect(try await store.unchangedSinceLoad() == false)
        // Empty buckets.
        _ = try await store.load()
        #expect(try await store.unchangedSinceLoad())
        let alert = Alert(event: AlertEvent(alertType: "a", source: "s"), fingerprint: Fingerprint(rawValue: 7), receivedAt: Date())
        try await other.record([.alertUpserted(alert)])
        #expect(try await store.unchangedSinceLoad() == false)
        #expect(try await store.load().alerts.map(\.fingerprint) == [alert.fingerprint])
        #expect(try await store.unchangedSinceLoad())
        #expect(try await store.unchangedSinceLoad(), "asking does not move anything")
        let silence = Silence(id: "6f1c1e40-0000-4000-8000-000000000005", matchers: [try Matcher(name: "source", type: .equal, value: "s")],
                              startsAt: Date(timeIntervalSince1970: 1_800_000_000), endsAt: Date(timeIntervalSince1970: 1_800_003_600),
                              createdBy: "oncall", comment: "c", updatedAt: Date(timeIntervalSince1970: 1_800_000_000))
        try await other.record([.silenceUpserted(silence)])
        #expect(try await store.unchangedSinceLoad() == false, "a silence written elsewhere")
        _ = try await store.load()
        try await other.record([.alertRemoved(alert.fingerprint)])
        #expect(try await store.unchangedSinceLoad() == false, "an alert deleted elsewhere")
        #expect(try await store.load().alerts.isEmpty)
        #expect(try await store.unchangedSinceLoad())
    }

    @Test("a non-finite value or an out-of-range time never makes a record unwritable, and nothing behind it waits")
    func hostileValuesWrite() async throws {
        let directory = try makeTemporaryDirectory("kv-hostile")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let store = try JetStreamStateStore(jetStream: try await connect(nats.url), settings: .init(bucketPrefix: "t3"), logger: quietLogger)
        var nan = Alert(event: AlertEvent(alertType: "a", source: "nan"), fingerprint: Fingerprint(rawValue: 1), receivedAt: Date())
        nan.currentValue = .nan
        nan.thresholdValue = .infinity
        var late = Alert(event: AlertEvent(alertType: "a", source: "late"), fingerprint: Fingerprint(rawValue: 2), receivedAt: Date())
        late.startsAt = Date(timeIntervalSince1970: 95_617_584_000)
        let plain = Alert(event: AlertEvent(alertType: "a", source: "plain"), fingerprint: Fingerprint(rawValue: 3), receivedAt: Date())
        try await store.record([.alertUpserted(nan), .alertUpserted(late), .alertUpserted(plain)])
        #expect(store.droppedRecords == 0)
        let loaded = try await store.load().alerts.sorted { $0.fingerprint < $1.fingerprint }
        #expect(loaded.map(\.fingerprint) == [nan.fingerprint, late.fingerprint, plain.fingerprint])
        #expect(loaded[0].currentValue?.isNaN == true && loaded[0].thresholdValue == .infinity)
        #expect(loaded[1].startsAt == late.startsAt)
    }

    @Test("a write behind another writer's back is detected, logged, and still lands")
    func conflict() async throws {
        let directory = try makeTemporaryDirectory("kv-conflict")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let recorder = LogRecorder()
        let first = try JetStreamStateStore(jetStream: try await connect(nats.url), settings: .init(bucketPrefix: "t2"),
                                            logger: Logger(label: "t", factory: { _ in recorder }))
        let second = try JetStreamStateStore(jetStream: try await connect(nats.url), settings: .init(bucketPrefix: "t2"), logger: quietLogger)
        var silence = Silence(id: "6f1c1e40-0000-4000-8000-000000000002", matchers: [try Matcher(name: "a", type: .equal, value: "b")],
                              startsAt: Date(), endsAt: Date() + 60, createdBy: "x", comment: "first")
        try await first.record([.silenceUpserted(silence)])
        silence.comment = "second writer"
        try await second.record([.silenceUpserted(silence)])
        silence.comment = "first again"
        try await first.record([.silenceUpserted(silence)])
        #expect(recorder.messages.contains("state write conflict; applying the newer in-memory state"))
        #expect(try await second.load().silences.first?.comment == "first again")
    }
}

/// Collects log messages (for asserting that something was logged).
final class LogRecorder: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    private var recordedMetadata: [Logger.Metadata] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        lock.withLock {
            recorded.append("\(event.message)")
            recordedMetadata.append(metadata.merging(event.metadata ?? [:]) { $1 })
        }
    }
    var messages: [String] { lock.withLock { recorded } }
    /// Each message with its metadata values as text.
    var entries: [(message: String, metadata: [String: String])] {
        lock.withLock { zip(recorded, recordedMetadata).map { ($0, $1.mapValues { "\($0)" }) } }
    }
}
