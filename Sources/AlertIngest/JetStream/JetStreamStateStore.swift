public import AlertCore
import CNats
import Foundation
public import Logging
import Synchronization

/// The `StateStore` of durable mode: alerts, silences, the notification
/// log and the event-stream rules' series in four JetStream key-value
/// buckets (`<prefix>_alerts`, `<prefix>_silences`, `<prefix>_nflog`,
/// `<prefix>_rules`), shared by every replica.
///
/// Writes carry the revision last seen for the key, so a concurrent writer
/// is detected: the conflict is logged, the key re-read, and the write
/// applied on top (the engine's in-memory state is the newer truth here).
/// Blocking libnats calls run off the cooperative pool.
public final class JetStreamStateStore: StateStore {
    public struct Settings: Sendable, Equatable {
        public var bucketPrefix: String
        public var bucket: KeyValueBucket.Settings

        public init(bucketPrefix: String = "nats_alerter", bucket: KeyValueBucket.Settings = .init()) {
            self.bucketPrefix = bucketPrefix
            self.bucket = bucket
        }
    }

    private let alerts: KeyValueBucket
    private let silences: KeyValueBucket
    private let notificationLog: KeyValueBucket
    private let ruleSeries: KeyValueBucket
    private let revisions = Mutex<[String: UInt64]>([:])
    private let dropped = Atomic<Int>(0)
    private let logger: Logger

    public init(jetStream: JetStream, settings: Settings, logger: Logger) throws(NATSError) {
        alerts = try KeyValueBucket(jetStream: jetStream, name: settings.bucketPrefix + "_alerts", settings: settings.bucket)
        silences = try KeyValueBucket(jetStream: jetStream, name: settings.bucketPrefix + "_silences", settings: settings.bucket)
        notificationLog = try KeyValueBucket(jetStream: jetStream, name: settings.bucketPrefix + "_nflog", settings: settings.bucket)
        ruleSeries = try KeyValueBucket(jetStream: jetStream, name: settings.bucketPrefix + "_rules", settings: settings.bucket)
        self.logger = logger
    }

    public func load() async throws -> PersistedState {
        try await runBlocking("nats-alerter.state-load") { () throws -> PersistedState in
            let decoder = StateCoding.decoder()
            var state = PersistedState()
            var seen: [String: UInt64] = [:]
            for (key, value, revision) in try self.alerts.entries() {
                state.alerts.append(try decoder.decode(Alert.self, from: Data(value)))
                seen[self.alerts.name + "/" + key] = revision
            }
            for (key, value, revision) in try self.silences.entries() {
                state.silences.append(try decoder.decode(Silence.self, from: Data(value)))
                seen[self.silences.name + "/" + key] = revision
            }
            for (key, value, revision) in try self.notificationLog.entries() {
                state.notificationLog.append(try decoder.decode(NotificationLogEntry.self, from: Data(value)))
                seen[self.notificationLog.name + "/" + key] = revision
            }
            for (key, value, revision) in try self.ruleSeries.entries() {
                state.ruleSeries.append(try decoder.decode(RuleSeries.self, from: Data(value)))
                seen[self.ruleSeries.name + "/" + key] = revision
            }
            self.revisions.withLock { $0.merge(seen) { $1 } }
            return state
        }
    }

    /// What another process wrote to the shared state, as `follow` reports it.
    public enum SharedChange: Sendable {
        case alert(Alert)
        case alertRemoved(Fingerprint)
        case silence(Silence)
        case silenceRemoved(id: String)
        case notificationLogged(NotificationLogEntry)
    }

    /// Follows the alerts, silences and notification-log buckets (first
    /// their current values, then every change), decoding each record as
    /// `load` does; a standby's view of the owner's state, and the owner's
    /// view of silences written by standbys (docs/ARCHITECTURE.md, High
    /// availability). `silencesOnly` follows the silences alone. A record
    /// that cannot be decoded is logged and skipped. Stop the returned
    /// watches to end it.
    public func follow(silencesOnly: Bool = false, onChange: @escaping @Sendable (SharedChange) -> Void) throws(NATSError) -> [KeyValueWatch] {
        let logger = self.logger
        let decoded = { @Sendable (bucket: KeyValueBucket, key: String, value: [UInt8], decode: (Data) throws -> SharedChange) -> SharedChange? in
            do { return try decode(Data(value)) } catch {
                logger.warning("shared state record not readable; skipped", metadata: [
                    "key": .string(bucket.name + "/" + key), "error": .string("\(error)"),
                ])
                return nil
            }
        }
        var watches: [KeyValueWatch] = []
        let silences = self.silences
        watches.append(try silences.watch { key, value in
            if let value {
                if let change = decoded(silences, key, value, { .silence(try StateCoding.decoder().decode(Silence.self, from: $0)) }) { onChange(change) }
            } else {
                onChange(.silenceRemoved(id: key))
            }
        })
        guard !silencesOnly else { return watches }
        let alerts = self.alerts, notificationLog = self.notificationLog
        do {
            watches.append(try alerts.watch { key, value in
                if let value {
                    if let change = decoded(alerts, key, value, { .alert(try StateCoding.decoder().decode(Alert.self, from: $0)) }) { onChange(change) }
                } else if let fingerprint = Fingerprint(hex: key) {
                    onChange(.alertRemoved(fingerprint))
                }
            })
            watches.append(try notificationLog.watch { key, value in
                if let value, let change = decoded(notificationLog, key, value, {
                    .notificationLogged(try StateCoding.decoder().decode(NotificationLogEntry.self, from: $0))
                }) { onChange(change) }
            })
        } catch {
            watches.forEach { $0.stop() }
            throw error
        }
        return watches
    }

    /// Writes the changes in order. A change that cannot be encoded, or that
    /// the server refuses as too large, is a poison item: it is dropped
    /// (logged, counted in `droppedRecords`) and the others are written —
    /// one bad record must never hold every later write (and so every ack)
    /// back. Any other failure (NATS unreachable) throws, and the caller
    /// retries the whole batch (writes are idempotent).
    public func record(_ changes: [StateChange]) async throws {
        try await runBlocking("nats-alerter.state-write") { () throws in
            let encoder = StateCoding.encoder()
            for change in changes {
                do {
                    try self.apply(change, encoder)
                } catch let error as EncodingError {
                    self.drop(change, reason: "unencodable", detail: "\(error)")
                } catch let error as NATSError where error.isMessageTooLarge {
                    self.drop(change, reason: "too_large", detail: error.description)
                }
            }
        }
    }

    /// State records dropped as poison items since start.
    public var droppedRecords: Int { dropped.load(ordering: .relaxed) }

    private func drop(_ change: StateChange, reason: String, detail: String) {
        dropped.add(1, ordering: .relaxed)
        logger.error("state record dropped: it cannot be written; the other records are", metadata: [
            "record": .string(change.summary), "reason": .string(reason), "error": .string(String(detail.prefix(500))),
        ])
    }

    private func apply(_ change: StateChange, _ encoder: JSONEncoder) throws {
        switch change {
        case .alertUpserted(let alert):
            try write(alerts, alert.fingerprint.description, try encoder.encode(alert))
        case .alertRemoved(let fingerprint):
            try remove(alerts, fingerprint.description)
        case .silenceUpserted(let silence):
            try write(silences, silence.id, try encoder.encode(silence))
        case .silenceRemoved(let id):
            try remove(silences, id)
        case .notificationLogged(let entry):
            try write(notificationLog, Self.logKey(entry.receiverIntegration, entry.groupKey), try encoder.encode(entry))
        case .notificationLogRemoved(let receiver, let groupKey):
            try remove(notificationLog, Self.logKey(receiver, groupKey))
        case .ruleSeriesUpserted(let series):
            try write(ruleSeries, Self.safeKey(series.key), try encoder.encode(series))
        case .ruleSeriesRemoved(let key):
            try remove(ruleSeries, Self.safeKey(key))
        }
    }

    private func write(_ bucket: KeyValueBucket, _ key: String, _ value: Data) throws(NATSError) {
        let id = bucket.name + "/" + key
        let last = revisions.withLock { $0[id] }
        let revision: UInt64
        do {
            revision = try bucket.write(key, [UInt8](value), lastRevision: last)
        } catch {
            // Someone else wrote the key (another replica, or a write we lost
            // track of): say so, then apply ours on top of what is there now.
            let current = try bucket.revision(of: key)
            logger.warning("state write conflict; applying the newer in-memory state", metadata: [
                "key": .string(id), "expected_revision": .string(last.map(String.init) ?? "none"),
                "found_revision": .string(current.map(String.init) ?? "none"),
            ])
            revision = try bucket.write(key, [UInt8](value), lastRevision: current)
        }
        revisions.withLock { $0[id] = revision }
    }

    private func remove(_ bucket: KeyValueBucket, _ key: String) throws(NATSError) {
        try bucket.delete(key)
        _ = revisions.withLock { $0.removeValue(forKey: bucket.name + "/" + key) }
    }

    /// Key-value keys allow `[-/_=.a-zA-Z0-9]`: base64url of receiver NUL group key.
    static func logKey(_ receiver: String, _ groupKey: String) -> String {
        safeKey(receiver + "\u{0}" + groupKey)
    }

    /// base64url of any key, which KV keys accept.
    static func safeKey(_ key: String) -> String {
        Data(key.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }
}
