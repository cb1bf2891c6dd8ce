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
