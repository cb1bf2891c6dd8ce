import AlertCore
import AlertIngest
import Foundation
import Logging
import Testing

/// Loading whole KV buckets with one ordered consumer (`KeyValueBucket.loadAll`)
/// and the state records in them, on a real nats-server with JetStream.
@Suite("KV bucket load")
struct KeyValueLoadTests {
    func connect(_ url: String) async throws -> JetStream {
        let connection = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [url], name: "kv-load-test"), logger: quietLogger)
        }
        return try JetStream(connection: connection)
    }

    func bucket(_ jetStream: JetStream, _ name: String) async throws -> KeyValueBucket {
        try await runBlocking { () throws(NATSError) in try KeyValueBucket(jetStream: jetStream, name: name, settings: .init()) }
    }

    func loadAll(_ bucket: KeyValueBucket) async throws -> (records: [KeyValueBucket.Record], summary: KeyValueBucket.LoadSummary,
                                                            operations: [String: KeyValueBucket.Operation]) {
        try await runBlocking { () throws(NATSError) in
            var operations: [String: KeyValueBucket.Operation] = [:]
            let summary = try bucket.loadAll { key, _, _, operation in operations[key] = operation }
            return (try bucket.loadAll(), summary, operations)
        }
    }

    @Test("deleted and purged keys are markers in the stream: they come as deletions and are not loaded; a key written again is")
    func deleteMarkers() async throws {
        let directory = try makeTemporaryDirectory("kv-load-delete")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let jetStream = try await connect(nats.url)
        let kv = try await bucket(jetStream, "load_delete")
        try await runBlocking { () throws(NATSError) in
            for key in ["a", "b", "c", "d", "e.with.dots"] { try kv.put(key, Array("value of \(key)".utf8)) }
            try kv.delete("b")
            try kv.put("d", Array("d again".utf8))
            try kv.delete("e.with.dots")
            try kv.put("e.with.dots", Array("e back".utf8))
            // A purge as libnats' kvStore_Purge writes it: a marker that rolls the key's history up.
            try jetStream.connection.publish(subject: "$KV.load_delete.c", payload: [], headers: [("KV-Operation", "PURGE"), ("Nats-Rollup", "sub")])
            try jetStream.connection.flush()
        }
        let (records, summary, operations) = try await loadAll(kv)
        #expect(records.map(\.key) == ["a", "d", "e.with.dots"])
        #expect(records.map { String(decoding: $0.value, as: UTF8.self) } == ["value of a", "d again", "e back"])
        #expect(records.allSatisfy { $0.revision > 0 })
        #expect(summary.messages == 5 && summary.deletions == 2)
        #expect(operations == ["a": .put, "b": .delete, "c": .purge, "d": .put, "e.with.dots": .put])

        let empty = try await bucket(try await connect(nats.url), "load_empty")
        let (none, emptySummary, _) = try await loadAll(empty)
        #expect(none.isEmpty && emptySummary == .init())
    }

    @Test("70,000 keys, more than a subscription holds pending by default (65,536 messages), all load in one pass")
    func manyKeys() async throws {
        let directory = try makeTemporaryDirectory("kv-load-many")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let jetStream = try await connect(nats.url)
        let kv = try await bucket(jetStream, "load_many")
        let count = 70_000
        // A put is a publish to $KV.<bucket>.<key> that the bucket's stream
        // captures: publish without waiting for each acknowledgement.
        try await runBlocking { () throws(NATSError) in
            for index in 0..<count {
                try jetStream.connection.publish(subject: "$KV.load_many.k\(index)", payload: Array("v\(index)".utf8))
                if index % 5000 == 4999 { try jetStream.connection.flush() }
            }
            try jetStream.connection.flush()
        }
        #expect(await waitUntil(timeout: .seconds(30)) { ((try? jetStream.messageCount(stream: "KV_load_many")) ?? 0) == count })
        let started = ContinuousClock.now
        let (records, summary, _) = try await loadAll(kv)
        #expect(records.count == count)
        #expect(Set(records.map(\.key)).count == count)
        #expect(records.first.map { $0.key == "k0" && $0.value == Array("v0".utf8) } == true)
        #expect(records.last.map { $0.key == "k\(count - 1)" && $0.revision == summary.positionAtStart.lastSequence } == true)
        print("loaded \(count) keys twice in \(ContinuousClock.now - started)")
    }

    @Test("a bucket of JSON records from the previous format loads as before, and is rewritten binary without conflicts")
    func legacyJSONRecords() async throws {
        let directory = try makeTemporaryDirectory("kv-load-json")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let jetStream = try await connect(nats.url)

        // What a previous version wrote: StateCoding's JSON under the same keys.
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let alertStore = AlertStore()
        var alerts: [Alert] = []
        for index in 0..<40 {
            if case .fired(var alert) = alertStore.apply(AlertEvent(alertType: "disk_full", source: "n\(index)", summary: "s",
                                                                    currentValue: index == 0 ? .nan : 91.5, subject: "system.x"), receivedAt: now) {
                alert.annotations["runbook"] = "https://runbooks/日本/\(index)"
                alerts.append(alert)
            }
        }
        let silence = Silence(id: "6f1c1e40-0000-4000-8000-000000000009", matchers: [try Matcher(name: "source", type: .regexMatch, value: "n1.*")],
                              startsAt: now, endsAt: now + 3600, createdBy: "oncall", comment: "maintenance", updatedAt: now)
        let entry = NotificationLogEntry(receiver: "team", integration: "webhook/0", groupKey: #"{}:{alertname="disk_full"}"#,
                                         firing: [alerts[0].fingerprint], resolved: [alerts[1].fingerprint], timestamp: now, expiresAt: now + 86400)
        let encoder = StateCoding.encoder()
        let alertBucket = try await bucket(jetStream, "old_alerts")
        let silenceBucket = try await bucket(jetStream, "old_silences")
        let logBucket = try await bucket(jetStream, "old_nflog")
        _ = try await bucket(jetStream, "old_rules")
        let alertJSON = try alerts.map { [UInt8](try encoder.encode($0)) }
        let silenceJSON = [UInt8](try encoder.encode(silence))
        let entryJSON = [UInt8](try encoder.encode(entry))
        let entryKey = Data(("team/webhook/0\u{0}" + entry.groupKey).utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        let alertRecords = zip(alerts.map(\.fingerprint.description), alertJSON).map { ($0, $1) }
        try await runBlocking { () throws(NATSError) in
            for (key, json) in alertRecords { try alertBucket.put(key, json) }
            try silenceBucket.put(silence.id, silenceJSON)
            try logBucket.put(entryKey, entryJSON)
        }

        let recorder = LogRecorder()
        let store = try JetStreamStateStore(jetStream: jetStream, settings: .init(bucketPrefix: "old"), logger: Logger(label: "t", factory: { _ in recorder }))
        let loaded = try await store.load()
        #expect(loaded.alerts.count == 40)
        for alert in alerts {
            let found = try #require(loaded.alerts.first { $0.fingerprint == alert.fingerprint })
            #expect(StateRecordFormat.encode(found) == StateRecordFormat.encode(alert))
        }
        #expect(loaded.alerts.first { $0.fingerprint == alerts[0].fingerprint }?.currentValue?.isNaN == true)
        #expect(loaded.silences == [silence])
        #expect(loaded.notificationLog == [entry])
        #expect(store.legacyRecordCount == 42 && store.unreadableRecords == 0)

        #expect(try await store.rewriteLegacyRecords() == 42)
        #expect(store.legacyRecordCount == 0)
        for kv in [alertBucket, silenceBucket, logBucket] {
            let records = try await loadAll(kv).records
            #expect(!records.isEmpty)
            #expect(records.allSatisfy { $0.value.withUnsafeBytes { StateRecordFormat.isBinary($0) } }, "\(kv.name) rewritten binary")
        }
        // The store knows the new revisions: its next writes are no conflicts.
        var changed = alerts[3]
        changed.endsAt = now + 60
        try await store.record([.alertUpserted(changed), .silenceUpserted(silence)])
        #expect(!recorder.messages.contains("state write conflict; applying the newer in-memory state"))

        let reopened = try JetStreamStateStore(jetStream: try await connect(nats.url), settings: .init(bucketPrefix: "old"), logger: quietLogger)
        let again = try await reopened.load()
        #expect(reopened.legacyRecordCount == 0)
        #expect(again.alerts.count == 40 && again.silences == [silence] && again.notificationLog == [entry])
        #expect(again.alerts.first { $0.fingerprint == changed.fingerprint }?.endsAt == changed.endsAt)
    }

    @Test("a garbled or truncated record is logged with its key, counted and left out; the rest of the bucket loads")
    func unreadableRecords() async throws {
        let directory = try makeTemporaryDirectory("kv-load-garbled")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let jetStream = try await connect(nats.url)
        let recorder = LogRecorder()
        let store = try JetStreamStateStore(jetStream: jetStream, settings: .init(bucketPrefix: "bad"), logger: Logger(label: "t", factory: { _ in recorder }))
        let good = Alert(event: AlertEvent(alertType: "a", source: "good"), fingerprint: Fingerprint(rawValue: 1), receivedAt: Date())
        let other = Alert(event: AlertEvent(alertType: "a", source: "other"), fingerprint: Fingerprint(rawValue: 2), receivedAt: Date())
        try await store.record([.alertUpserted(good), .alertUpserted(other)])
        let alertBucket = try await bucket(jetStream, "bad_alerts")
        let truncated = Array(StateRecordFormat.encode(other).dropLast(3))
        try await runBlocking { () throws(NATSError) in
            try alertBucket.put("0000000000000002", truncated)
            try alertBucket.put("0000000000000003", Array("{\"labels\": 7".utf8))
        }
        let loaded = try await store.load()
        #expect(loaded.alerts.map(\.fingerprint) == [good.fingerprint])
        #expect(store.unreadableRecords == 2)
        let logged = recorder.entries.filter { $0.message == "state record unreadable; left out, the rest loads" }
        #expect(logged.map { $0.metadata["key"] } == ["0000000000000002", "0000000000000003"])
        #expect(logged.allSatisfy { $0.metadata["bucket"] == "bad_alerts" })
        #expect(logged.first?.metadata["error"]?.contains("truncated") == true)
    }
}
