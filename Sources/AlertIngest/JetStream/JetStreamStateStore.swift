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
/// Records are written in `StateRecordFormat`'s binary layout; JSON
/// records written by earlier versions still load, and
/// `rewriteLegacyRecords()` rewrites them (docs/ARCHITECTURE.md, Durability).
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

    /// A record the last `load()` found in JSON, with its binary form.
    fileprivate struct LegacyRecord: Sendable {
        var bucket: KeyValueBucket
        var key: String
        var revision: UInt64
        var binary: [UInt8]
    }

    private let alerts: KeyValueBucket
    private let silences: KeyValueBucket
    private let notificationLog: KeyValueBucket
    private let ruleSeries: KeyValueBucket
    /// The revision last seen of each key, one map per bucket (`slot`:
    /// alerts, silences, notification log, rule series).
    private let revisions = Mutex<[[String: UInt64]]>(Array(repeating: [:], count: 4))
    private let dropped = Atomic<Int>(0)
    private let unreadable = Atomic<Int>(0)
    private let legacy = Mutex<[LegacyRecord]>([])
    /// Where each bucket's stream stood when the last `load()` began reading
    /// it (alerts, silences, notification log, rule series); nil before one.
    private let loadedPositions = Mutex<[KeyValueBucket.StreamPosition]?>(nil)
    private let logger: Logger

    public init(jetStream: JetStream, settings: Settings, logger: Logger) throws(NATSError) {
        alerts = try KeyValueBucket(jetStream: jetStream, name: settings.bucketPrefix + "_alerts", settings: settings.bucket)
        silences = try KeyValueBucket(jetStream: jetStream, name: settings.bucketPrefix + "_silences", settings: settings.bucket)
        notificationLog = try KeyValueBucket(jetStream: jetStream, name: settings.bucketPrefix + "_nflog", settings: settings.bucket)
        ruleSeries = try KeyValueBucket(jetStream: jetStream, name: settings.bucketPrefix + "_rules", settings: settings.bucket)
        self.logger = logger
    }

    /// Reads the four buckets, each with one ordered consumer
    /// (`KeyValueBucket.loadAll`), decoding every record as it arrives. A
    /// record that cannot be read is logged with its key, counted
    /// (`unreadableRecords`) and left out; the rest loads.
    public func load() async throws -> PersistedState {
        try await runBlocking("nats-alerter.state-load") { () throws(NATSError) -> PersistedState in
            var seen: [[String: UInt64]] = []
            var found: [LegacyRecord] = []
            var positions: [KeyValueBucket.StreamPosition] = []
            var state = PersistedState()
            state.alerts = try self.read(self.alerts, &seen, &found, &positions, StateRecordFormat.decodeAlert, StateRecordFormat.encode)
            state.silences = try self.read(self.silences, &seen, &found, &positions, StateRecordFormat.decodeSilence, StateRecordFormat.encode)
            state.notificationLog = try self.read(self.notificationLog, &seen, &found, &positions, StateRecordFormat.decodeNotificationLogEntry,
                                                  StateRecordFormat.encode)
            state.ruleSeries = try self.read(self.ruleSeries, &seen, &found, &positions, StateRecordFormat.decodeRuleSeries,
                                             StateRecordFormat.encode)
            self.revisions.withLock { revisions in
                for (slot, loaded) in seen.enumerated() {
                    if revisions[slot].isEmpty { revisions[slot] = loaded } else { revisions[slot].merge(loaded) { $1 } }
                }
            }
            self.legacy.withLock { $0 = found }
            self.loadedPositions.withLock { $0 = positions }
            return state
        }
    }

    /// Whether the shared state is still what the last `load()` read: each
    /// bucket's stream is where it stood when the load began reading it (one
    /// stream-info request per bucket; same last sequence and message count,
    /// so nothing was written, deleted or expired since). False when no load
    /// ran. A new owner that finds this true after fencing skips reading the
    /// state again (docs/ARCHITECTURE.md, Start-up).
    public func unchangedSinceLoad() async throws -> Bool {
        guard let loaded = loadedPositions.withLock({ $0 }) else { return false }
        return try await runBlocking("nats-alerter.state-position") { () throws(NATSError) -> Bool in
            let buckets = [self.alerts, self.silences, self.notificationLog, self.ruleSeries]
            guard loaded.count == buckets.count else { return false }
            for (bucket, position) in zip(buckets, loaded) where try bucket.position() != position {
                self.logger.info("state bucket changed since it was loaded", metadata: [
                    "bucket": .string(bucket.name), "last_sequence_loaded": .stringConvertible(position.lastSequence),
                ])
                return false
            }
            return true
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
        // The same record format as `load` (binary, or JSON of earlier versions).
        let decoded = { @Sendable (bucket: KeyValueBucket, key: String, value: [UInt8],
                                   decode: (UnsafeRawBufferPointer) throws(StateRecordError) -> SharedChange) -> SharedChange? in
            let result = value.withUnsafeBytes { bytes -> Result<SharedChange, StateRecordError> in
                do throws(StateRecordError) { return .success(try decode(bytes)) } catch { return .failure(error) }
            }
            switch result {
            case .success(let change):
                return change
            case .failure(let error):
                logger.warning("shared state record not readable; skipped", metadata: [
                    "key": .string(bucket.name + "/" + key), "error": .string(error.description),
                ])
                return nil
            }
        }
        var watches: [KeyValueWatch] = []
        let silences = self.silences
        watches.append(try silences.watch { key, value in
            if let value {
                if let change = decoded(silences, key, value, { (bytes) throws(StateRecordError) in .silence(try StateRecordFormat.decodeSilence(bytes).0) }) { onChange(change) }
            } else {
                onChange(.silenceRemoved(id: key))
            }
        })
        guard !silencesOnly else { return watches }
        let alerts = self.alerts, notificationLog = self.notificationLog
        do {
            watches.append(try alerts.watch { key, value in
                if let value {
                    if let change = decoded(alerts, key, value, { (bytes) throws(StateRecordError) in .alert(try StateRecordFormat.decodeAlert(bytes).0) }) { onChange(change) }
                } else if let fingerprint = Fingerprint(hex: key) {
                    onChange(.alertRemoved(fingerprint))
                }
            })
            watches.append(try notificationLog.watch { key, value in
                if let value, let change = decoded(notificationLog, key, value, { (bytes) throws(StateRecordError) in
                    .notificationLogged(try StateRecordFormat.decodeNotificationLogEntry(bytes).0)
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
    /// One bucket: the last record of each key, decoded, in stream order.
    /// This thread reads the bucket (`KeyValueBucket.loadAll`) and hands the
    /// messages on in batches (`LoadBatch`) to a decoder thread, which
    /// decodes and indexes them in stream order, so decoding runs on a second
    /// core while the consumer reads (docs/ARCHITECTURE.md, Start-up).
    private func read<Record: Sendable>(
        _ bucket: KeyValueBucket, _ seen: inout [[String: UInt64]], _ legacy: inout [LegacyRecord],
        _ positions: inout [KeyValueBucket.StreamPosition],
        _ decode: @escaping @Sendable (UnsafeRawBufferPointer) throws(StateRecordError) -> (Record, StateRecordFormat.Encoding),
        _ encode: @escaping @Sendable (Record) -> [UInt8]
    ) throws(NATSError) -> [Record] {
        let clock = ContinuousClock()
        let started = clock.now
        let pipe = LoadPipe()
        let decoded = DecodedBucket<Record>()
        let done = DispatchSemaphore(value: 0)
        let logger = self.logger
        let decoder = Thread {
            var state = BucketDecoding<Record>()
            while let batches = pipe.receive() {
                for batch in batches { state.apply(batch, bucket: bucket, decode: decode, encode: encode, logger: logger) }
            }
            decoded.result.withLock { result in result = state }
            done.signal()
        }
        decoder.name = "nats-alerter.state-decode"
        decoder.start()
        var batch = LoadBatch()
        let summary: KeyValueBucket.LoadSummary
        do {
            summary = try bucket.loadAll { key, value, revision, operation in
                batch.append(key, value, revision, operation)
                if batch.count == LoadBatch.capacity {
                    pipe.send(batch)
                    batch = LoadBatch()
                }
            }
        } catch {
            pipe.finish()
            done.wait()
            throw error
        }
        pipe.send(batch)
        pipe.finish()
        done.wait()
        guard let result = decoded.result.withLock({ $0.take() }) else { return [] }
        positions.append(summary.positionAtStart)
        seen.append(result.index.mapValues(\.revision))
        legacy.append(contentsOf: result.legacy)
        if result.failures > 0 { unreadable.add(result.failures, ordering: .relaxed) }
        let loaded = result.records.compactMap { $0 }
        logger.info("state bucket loaded", metadata: [
            "bucket": .string(bucket.name), "records": .stringConvertible(loaded.count), "messages": .stringConvertible(summary.messages),
            "deletions": .stringConvertible(summary.deletions), "unreadable": .stringConvertible(result.failures),
            "json_records": .stringConvertible(result.legacy.count), "ms": .string(Self.milliseconds(clock.now - started)),
            "decode_ms": .string(Self.milliseconds(result.decoding)),
        ])
        return loaded
    }

    private static func milliseconds(_ duration: Duration) -> String {
        String(format: "%.1f", Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15)
    }

    /// Records the last `load()` found in the JSON of earlier versions and
    /// has not rewritten yet.
    public var legacyRecordCount: Int { legacy.withLock { $0.count } }

    /// Rewrites in the binary format the JSON records the last `load()`
    /// found, each as an update at the revision loaded, so a record written
    /// since (already binary) is never overwritten. Meant to run in the
    /// background once the service is ready (one KV update per record).
    /// Returns how many were rewritten; throws when NATS fails (what is left
    /// is rewritten by the next start, or by the record's next write).
    @discardableResult
    public func rewriteLegacyRecords() async throws -> Int {
        try await runBlocking("nats-alerter.state-rewrite") { () throws(NATSError) -> Int in
            var rewritten = 0
            while let record = self.legacy.withLock({ $0.popLast() }) {
                let revision: UInt64
                do throws(NATSError) {
                    revision = try record.bucket.write(record.key, record.binary, lastRevision: record.revision)
                } catch {
                    // Refused: either the key was written or deleted since the
                    // load (that write is newer, and binary), or NATS is away.
                    let current: UInt64?
                    do throws(NATSError) {
                        current = try record.bucket.revision(of: record.key)
                    } catch {
                        self.legacy.withLock { $0.append(record) }
                        throw error
                    }
                    if current == record.revision {
                        self.logger.warning("JSON state record not rewritten; it still loads", metadata: [
                            "key": .string(record.bucket.name + "/" + record.key), "error": .string(error.description),
                        ])
                    }
                    continue
                }
                rewritten += 1
                // Only if nothing else wrote the key meanwhile (then its revision is already newer).
                let slot = self.slot(record.bucket)
                self.revisions.withLock { revisions in
                    if revisions[slot][record.key] == record.revision { revisions[slot][record.key] = revision }
                }
            }
            return rewritten
        }
    }

    /// Writes the changes in order. A change that the server refuses as too
    /// large is a poison item: it is dropped (logged, counted in
    /// `droppedRecords`) and the others are written — one bad record must
    /// never hold every later write (and so every ack) back. Any other
    /// failure (NATS unreachable) throws, and the caller retries the whole
    /// batch (writes are idempotent). The binary encoding itself cannot fail.
    public func record(_ changes: [StateChange]) async throws {
        try await runBlocking("nats-alerter.state-write") { () throws(NATSError) in
            for change in changes {
                do throws(NATSError) {
                    try self.apply(change)
                } catch where error.isMessageTooLarge {
                    self.drop(change, reason: "too_large", detail: error.description)
                }
            }
        }
    }

    /// State records dropped as poison items since start.
    public var droppedRecords: Int { dropped.load(ordering: .relaxed) }

    /// Records `load()` could not read (truncated, garbled, foreign), since start.
    public var unreadableRecords: Int { unreadable.load(ordering: .relaxed) }

    private func drop(_ change: StateChange, reason: String, detail: String) {
        dropped.add(1, ordering: .relaxed)
        logger.error("state record dropped: it cannot be written; the other records are", metadata: [
            "record": .string(change.summary), "reason": .string(reason), "error": .string(String(detail.prefix(500))),
        ])
    }

    private func apply(_ change: StateChange) throws(NATSError) {
        switch change {
        case .alertUpserted(let alert):
            try write(alerts, alert.fingerprint.description, StateRecordFormat.encode(alert))
        case .alertRemoved(let fingerprint):
            try remove(alerts, fingerprint.description)
        case .silenceUpserted(let silence):
            try write(silences, silence.id, StateRecordFormat.encode(silence))
        case .silenceRemoved(let id):
            try remove(silences, id)
        case .notificationLogged(let entry):
            try write(notificationLog, Self.logKey(entry.receiverIntegration, entry.groupKey), StateRecordFormat.encode(entry))
        case .notificationLogRemoved(let receiver, let groupKey):
            try remove(notificationLog, Self.logKey(receiver, groupKey))
        case .ruleSeriesUpserted(let series):
            try write(ruleSeries, Self.safeKey(series.key), StateRecordFormat.encode(series))
        case .ruleSeriesRemoved(let key):
            try remove(ruleSeries, Self.safeKey(key))
        }
    }

    private func write(_ bucket: KeyValueBucket, _ key: String, _ value: [UInt8]) throws(NATSError) {
        let slot = self.slot(bucket)
        let last = revisions.withLock { $0[slot][key] }
        let revision: UInt64
        do {
            revision = try bucket.write(key, value, lastRevision: last)
        } catch {
            // Someone else wrote the key (another replica, or a write we lost
            // track of): say so, then apply ours on top of what is there now.
            let current = try bucket.revision(of: key)
            logger.warning("state write conflict; applying the newer in-memory state", metadata: [
                "key": .string(bucket.name + "/" + key), "expected_revision": .string(last.map(String.init) ?? "none"),
                "found_revision": .string(current.map(String.init) ?? "none"),
            ])
            revision = try bucket.write(key, value, lastRevision: current)
        }
        revisions.withLock { $0[slot][key] = revision }
    }

    private func remove(_ bucket: KeyValueBucket, _ key: String) throws(NATSError) {
        try bucket.delete(key)
        let slot = self.slot(bucket)
        _ = revisions.withLock { $0[slot].removeValue(forKey: key) }
    }

    /// The bucket's place in `revisions` (and in `load`'s order).
    private func slot(_ bucket: KeyValueBucket) -> Int {
        bucket === alerts ? 0 : bucket === silences ? 1 : bucket === notificationLog ? 2 : 3
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

/// Messages of a bucket as `KeyValueBucket.loadAll` delivered them, in
/// stream order, their values copied into one buffer: what the reading
/// thread hands to the decoding thread (`JetStreamStateStore.read`).
private struct LoadBatch: Sendable {
    static let capacity = 512
    var keys: [String] = []
    var revisions: [UInt64] = []
    var operations: [KeyValueBucket.Operation] = []
    /// Where each value ends in `bytes`.
    var ends: [Int] = []
    var bytes: [UInt8] = []

    var count: Int { keys.count }

    mutating func append(_ key: String, _ value: UnsafeRawBufferPointer, _ revision: UInt64, _ operation: KeyValueBucket.Operation) {
        if keys.isEmpty {
            keys.reserveCapacity(Self.capacity)
            revisions.reserveCapacity(Self.capacity)
            operations.reserveCapacity(Self.capacity)
            ends.reserveCapacity(Self.capacity)
            bytes.reserveCapacity(Self.capacity * 256)
        }
        keys.append(key)
        revisions.append(revision)
        operations.append(operation)
        bytes.append(contentsOf: value)
        ends.append(bytes.count)
    }
}

/// Batches from the reading thread to the decoding thread, in order.
private final class LoadPipe: Sendable {
    private let queue = Mutex<(batches: [LoadBatch], finished: Bool)>(([], false))
    private let available = DispatchSemaphore(value: 0)

    func send(_ batch: LoadBatch) {
        guard batch.count > 0 else { return }
        queue.withLock { $0.batches.append(batch) }
        available.signal()
    }

    /// No more batches.
    func finish() {
        queue.withLock { $0.finished = true }
        available.signal()
    }

    /// Every batch sent and not yet received, in order, waiting for one;
    /// nil once finished and all received.
    func receive() -> [LoadBatch]? {
        while true {
            available.wait()
            let (batches, finished) = queue.withLock { queue in
                defer { queue.batches = [] }
                return (queue.batches, queue.finished)
            }
            if !batches.isEmpty { return batches }
            if finished { return nil }
        }
    }
}

/// What the decoding thread hands back when it is done.
private final class DecodedBucket<Record: Sendable>: Sendable {
    let result = Mutex<BucketDecoding<Record>?>(nil)
}

/// One bucket's records as the decoding thread builds them (the last record
/// of each key wins; a key deleted later is dropped).
private struct BucketDecoding<Record: Sendable>: Sendable {
    var records: [Record?] = []
    /// Each key loaded: its record's place in `records` and its revision.
    var index: [String: (place: Int, revision: UInt64)] = [:]
    var legacy: [JetStreamStateStore.LegacyRecord] = []
    var failures = 0
    var decoding = Duration.zero

    mutating func apply(_ batch: LoadBatch, bucket: KeyValueBucket,
                        decode: (UnsafeRawBufferPointer) throws(StateRecordError) -> (Record, StateRecordFormat.Encoding),
                        encode: (Record) -> [UInt8], logger: Logger) {
        let clock = ContinuousClock()
        batch.bytes.withUnsafeBytes { bytes in
            var start = 0
            for position in 0..<batch.count {
                let key = batch.keys[position], revision = batch.revisions[position]
                let end = batch.ends[position]
                defer { start = end }
                if let previous = index.removeValue(forKey: key) { records[previous.place] = nil }
                guard batch.operations[position] == .put else { continue }
                let decodeStarted = clock.now
                do throws(StateRecordError) {
                    let (record, encoding) = try decode(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                    index[key] = (records.count, revision)
                    records.append(record)
                    if encoding == .json {
                        legacy.append(.init(bucket: bucket, key: key, revision: revision, binary: encode(record)))
                    }
                } catch {
                    failures += 1
                    logger.error("state record unreadable; left out, the rest loads", metadata: [
                        "bucket": .string(bucket.name), "key": .string(key), "revision": .stringConvertible(revision),
                        "error": .string(error.description),
                    ])
                }
                decoding += clock.now - decodeStarted
            }
        }
    }
}
