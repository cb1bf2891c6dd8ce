import CNats
import Foundation
import Synchronization

/// A JetStream key-value bucket. Writes use revisions: `create` fails if the
/// key exists, `update` fails unless the key is still at the revision we
/// last saw — so two writers cannot silently overwrite each other.
public final class KeyValueBucket: Sendable {
    nonisolated(unsafe) private let store: OpaquePointer
    public let name: String
    /// The kvStore uses the JetStream context (and through it the
    /// connection): keep them alive as long as the bucket. `loadAll` reads
    /// the bucket's stream through it.
    let jetStream: JetStream

    public struct Settings: Sendable, Equatable {
        public var history: Int
        public var replicas: Int
        public var memoryStorage: Bool
        /// How long a key is kept after its last write (nil: for ever).
        public var ttl: Duration?

        public init(history: Int = 1, replicas: Int = 1, memoryStorage: Bool = false, ttl: Duration? = nil) {
            self.history = history
            self.replicas = replicas
            self.memoryStorage = memoryStorage
            self.ttl = ttl
        }
    }

    /// Binds to the bucket, creating it if absent.
    public init(jetStream: JetStream, name: String, settings: Settings) throws(NATSError) {
        self.name = name
        self.jetStream = jetStream
        var kv: OpaquePointer?
        let bound = js_KeyValue(&kv, jetStream.context, name)
        if bound == NATS_OK, let kv {
            store = kv
            return
        }
        var config = kvConfig()
        kvConfig_Init(&config)
        let status = name.withCString { bucket -> natsStatus in
            config.Bucket = bucket
            config.History = UInt8(clamping: settings.history)
            config.Replicas = Int32(settings.replicas)
            config.StorageType = settings.memoryStorage ? js_MemoryStorage : js_FileStorage
            if let ttl = settings.ttl { config.TTL = ttl.nanoseconds }
            return js_CreateKeyValue(&kv, jetStream.context, &config)
        }
        try check(status, "create key-value bucket \(name)")
        guard let kv else { throw NATSError(operation: "create key-value bucket \(name)", message: "none returned") }
        store = kv
    }

    deinit {
        kvStore_Destroy(store)
    }

    /// Writes `value` under `key`: a create when `lastRevision` is nil, else an
    /// update expecting that revision. Returns the new revision.
    @discardableResult
    public func write(_ key: String, _ value: [UInt8], lastRevision: UInt64?) throws(NATSError) -> UInt64 {
        var revision: UInt64 = 0
        let status = value.withUnsafeBytes { bytes in
            if let lastRevision {
                kvStore_Update(&revision, store, key, bytes.baseAddress, Int32(bytes.count), lastRevision)
            } else {
                kvStore_Create(&revision, store, key, bytes.baseAddress, Int32(bytes.count))
            }
        }
        try check(status, "write \(name)/\(key)")
        return revision
    }

    /// What a conditional write found.
    public enum ConditionalWrite: Sendable, Equatable {
        /// Written; the key's new revision.
        case written(UInt64)
        /// Refused: the key exists (create) or is no longer at the expected
        /// revision (update).
        case refused
    }

    /// Creates `key` only if it holds no value (absent, deleted or expired).
    /// Throws when no answer came (timeout, no connection): the caller cannot
    /// tell whether it was written and retries.
    public func create(_ key: String, _ value: [UInt8]) throws(NATSError) -> ConditionalWrite {
        var revision: UInt64 = 0
        let status = value.withUnsafeBytes { kvStore_Create(&revision, store, key, $0.baseAddress, Int32($0.count)) }
        return try Self.conditional(status, revision, "create \(name)/\(key)")
    }

    /// Updates `key` only if its last revision is `revision`. Throws when no
    /// answer came.
    public func update(_ key: String, _ value: [UInt8], revision expected: UInt64) throws(NATSError) -> ConditionalWrite {
        var revision: UInt64 = 0
        let status = value.withUnsafeBytes { kvStore_Update(&revision, store, key, $0.baseAddress, Int32($0.count), expected) }
        return try Self.conditional(status, revision, "update \(name)/\(key)")
    }

    private static func conditional(_ status: natsStatus, _ revision: UInt64, _ operation: String) throws(NATSError) -> ConditionalWrite {
        switch status {
        case NATS_OK: return .written(revision)
        // No answer, or no connection: unknown outcome.
        case NATS_TIMEOUT, NATS_NO_RESPONDERS, NATS_CONNECTION_CLOSED, NATS_CONNECTION_DISCONNECTED, NATS_NO_SERVER, NATS_IO_ERROR:
            throw NATSError(operation, status)
        // The server answered with an error: libnats 3.4.1 reports a wrong
        // last sequence (the key exists, or moved on) as a plain error.
        default: return .refused
        }
    }

    /// The current value and revision of a key, nil when absent or deleted.
    public func get(_ key: String) throws(NATSError) -> (value: [UInt8], revision: UInt64)? {
        var entry: OpaquePointer?
        let status = kvStore_Get(&entry, store, key)
        if status == NATS_NOT_FOUND { return nil }
        try check(status, "get \(name)/\(key)")
        defer { kvEntry_Destroy(entry) }
        let length = Int(kvEntry_ValueLen(entry))
        let bytes = length > 0 ? [UInt8](UnsafeRawBufferPointer(start: kvEntry_Value(entry), count: length)) : []
        return (bytes, kvEntry_Revision(entry))
    }

    /// Follows every change of the bucket from now on (and first the
    /// current values), calling `onChange` with the key and the new value
    /// (nil: deleted or purged) on a thread of its own, until `stop()`.
    public func watch(onChange: @escaping @Sendable (_ key: String, _ value: [UInt8]?) -> Void) throws(NATSError) -> KeyValueWatch {
        var watcher: OpaquePointer?
        var options = kvWatchOptions()
        kvWatchOptions_Init(&options)
        try check(kvStore_WatchAll(&watcher, store, &options), "watch \(name)")
        guard let watcher else { throw NATSError(operation: "watch \(name)", message: "none returned") }
        return KeyValueWatch(watcher: watcher, bucket: self, onChange: onChange)
    }

    /// Writes unconditionally (after a revision conflict was resolved by re-reading).
    @discardableResult
    public func put(_ key: String, _ value: [UInt8]) throws(NATSError) -> UInt64 {
        var revision: UInt64 = 0
        let status = value.withUnsafeBytes { kvStore_Put(&revision, store, key, $0.baseAddress, Int32($0.count)) }
        try check(status, "put \(name)/\(key)")
        return revision
    }

    public func delete(_ key: String) throws(NATSError) {
        let status = kvStore_Delete(store, key)
        if status != NATS_OK && status != NATS_NOT_FOUND { throw NATSError("delete \(name)/\(key)", status) }
    }

    /// The current revision of a key, nil when absent or deleted.
    public func revision(of key: String) throws(NATSError) -> UInt64? {
        var entry: OpaquePointer?
        let status = kvStore_Get(&entry, store, key)
        if status == NATS_NOT_FOUND { return nil }
        try check(status, "get \(name)/\(key)")
        defer { kvEntry_Destroy(entry) }
        return kvEntry_Revision(entry)
    }
}

/// A running watch of a bucket (`KeyValueBucket.watch`): one thread that
/// waits on libnats' watcher and hands each change on.
public final class KeyValueWatch: Sendable {
    nonisolated(unsafe) private let watcher: OpaquePointer
    private let stopped = Atomic<Bool>(false)
    // Keeps the bucket (and its JetStream context) alive while the thread runs.
    private let bucket: KeyValueBucket

    init(watcher: OpaquePointer, bucket: KeyValueBucket, onChange: @escaping @Sendable (String, [UInt8]?) -> Void) {
        self.watcher = watcher
        self.bucket = bucket
        let thread = Thread { [self] in
            while !stopped.load(ordering: .relaxed) {
                var entry: OpaquePointer?
                let status = kvWatcher_Next(&entry, self.watcher, 500)
                if status == NATS_TIMEOUT { continue }
                // Stopped, or the connection closed for good.
                guard status == NATS_OK else { break }
                // A nil entry marks the end of the initial values.
                guard let entry else { continue }
                let key = String(cString: kvEntry_Key(entry))
                var value: [UInt8]?
                if kvEntry_Operation(entry) == kvOp_Put {
                    let length = Int(kvEntry_ValueLen(entry))
                    value = length > 0 ? [UInt8](UnsafeRawBufferPointer(start: kvEntry_Value(entry), count: length)) : []
                }
                kvEntry_Destroy(entry)
                onChange(key, value)
            }
        }
        thread.name = "nats-alerter.kv-watch"
        thread.start()
    }

    /// Stops following. A change already taken off the watcher may still
    /// reach the handler after this returns.
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        kvWatcher_Stop(watcher)
    }

    deinit {
        kvWatcher_Stop(watcher)
        // The thread holds `self` until it ends, so this runs after it.
        kvWatcher_Destroy(watcher)
    }
}
