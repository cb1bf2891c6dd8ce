import CNats
import Foundation

/// Reading a whole bucket at once (docs/ARCHITECTURE.md, Start-up).
extension KeyValueBucket {
    /// What a message of the bucket's stream does to its key.
    public enum Operation: Sendable, Equatable {
        case put
        /// `KV-Operation: DEL`: the key is gone (its value is empty).
        case delete
        /// `KV-Operation: PURGE`: the key is gone, with its history.
        case purge
    }

    /// A live key as `loadAll()` returns it.
    public struct Record: Sendable, Equatable {
        public var key: String
        public var value: [UInt8]
        public var revision: UInt64
    }

    /// Where a bucket's stream stands: its last sequence (0: nothing was
    /// ever written; every put, delete or purge raises it) and how many
    /// messages it holds (a removal without a write — a key's TTL, a purge
    /// of the stream — lowers it).
    public struct StreamPosition: Sendable, Equatable {
        public var lastSequence: UInt64 = 0
        public var messages: UInt64 = 0

        public init(lastSequence: UInt64 = 0, messages: UInt64 = 0) {
            self.lastSequence = lastSequence
            self.messages = messages
        }
    }

    /// What one `loadAll` read.
    public struct LoadSummary: Sendable, Equatable {
        /// Messages delivered (puts and delete/purge markers).
        public var messages = 0
        /// Delete and purge markers among them.
        public var deletions = 0
        /// The stream's position when the load started. If `position()` is
        /// still this later, nothing was written or removed since, and what
        /// was loaded is current.
        public var positionAtStart = StreamPosition()

        public init() {}
    }

    /// Reads the whole bucket (start-up, and any replica that needs the
    /// shared state): one ordered consumer on the bucket's stream
    /// `KV_<bucket>` that delivers the last message of every key
    /// (`DeliverLastPerSubject`), instead of a request per key
    /// (docs/ARCHITECTURE.md, Start-up). Blocking: run it with `runBlocking`.
    ///
    /// `body` runs on the calling thread, once per message, in stream order.
    /// `value` points into libnats' message and is valid only during the
    /// call (copy what you keep). Delete and purge markers (the
    /// `KV-Operation` header) come as `.delete`/`.purge` with an empty
    /// value. Normally each key comes once; if writes race the load, or the
    /// ordered consumer is recreated after a gap (it resumes by sequence),
    /// a key can come again later: apply in order, the last one wins.
    ///
    /// It ends when the consumer reports nothing pending (the last message
    /// of the stream at the time the consumer was created has been
    /// delivered), and throws when no message comes within `idleTimeout`.
    /// An empty stream returns at once without a consumer.
    @discardableResult
    public func loadAll(
        idleTimeout: Duration = .seconds(5),
        _ body: (_ key: String, _ value: UnsafeRawBufferPointer, _ revision: UInt64, _ operation: Operation) -> Void
    ) throws(NATSError) -> LoadSummary {
        let stream = "KV_" + name
        var summary = LoadSummary()
        summary.positionAtStart = try position()
        guard summary.positionAtStart.messages > 0 else { return summary }

        let prefix = "$KV." + name + "."
        var subscription: OpaquePointer?
        var code = jsErrCode(0)
        var options = jsSubOptions()
        jsSubOptions_Init(&options)
        let subscribed = stream.withCString { streamName -> natsStatus in
            options.Stream = streamName
            options.Ordered = true
            options.Config.DeliverPolicy = js_DeliverLastPerSubject
            return js_SubscribeSync(&subscription, jetStream.context, prefix + ">", nil, &options, &code)
        }
        guard subscribed == NATS_OK, let subscription else { throw NATSError("read \(name): ordered consumer on \(stream)", subscribed, code: code) }
        defer {
            natsSubscription_Unsubscribe(subscription)
            natsSubscription_Destroy(subscription)
        }
        // Every key of the bucket is delivered at once: no pending limit
        // (libnats' default, 65,536 messages, would drop the rest as a slow consumer).
        try check(natsSubscription_SetPendingLimits(subscription, -1, -1), "read \(name): pending limits")
        let prefixLength = prefix.utf8.count
        let timeout = max(1, idleTimeout.nanoseconds / 1_000_000)
        while true {
            var message: OpaquePointer?
            let next = natsSubscription_NextMsg(&message, subscription, timeout)
            guard next == NATS_OK, let message else {
                throw NATSError("read \(name) (\(summary.messages) messages in, stream last sequence \(summary.positionAtStart.lastSequence))", next)
            }
            defer { natsMsg_Destroy(message) }
            let (revision, pending) = try Self.sequenceAndPending(message, name)
            summary.messages += 1

            guard let subject = natsMsg_GetSubject(message), strlen(subject) > prefixLength else {
                throw NATSError(operation: "read \(name)", message: "a message outside \(prefix)>")
            }
            let key = String(cString: subject + prefixLength)
            let length = Int(natsMsg_GetDataLength(message))
            var operation = Operation.put
            if length == 0 {
                // Markers carry no value; only then is the header worth parsing.
                var header: UnsafePointer<CChar>?
                if natsMsgHeader_Get(message, "KV-Operation", &header) == NATS_OK, let header {
                    switch String(cString: header) {
                    case "DEL": operation = .delete
                    case "PURGE": operation = .purge
                    default: break
                    }
                }
            }
            if operation != .put { summary.deletions += 1 }
            body(key, UnsafeRawBufferPointer(start: UnsafeRawPointer(natsMsg_GetData(message)), count: length), revision, operation)
            if pending == 0 { break }
        }
        return summary
    }

    /// A delivered message's stream sequence and the consumer's pending
    /// count, read from its reply subject in place (`AckReplySubject`), or
    /// by libnats' `natsMsg_GetMetaData` (which allocates) for a reply
    /// subject of a form not parsed here.
    private static func sequenceAndPending(_ message: OpaquePointer, _ name: String) throws(NATSError) -> (UInt64, UInt64) {
        if let reply = natsMsg_GetReply(message), let parsed = AckReplySubject.sequenceAndPending(reply) {
            return parsed
        }
        var meta: UnsafeMutablePointer<jsMsgMetaData>?
        try check(natsMsg_GetMetaData(&meta, message), "read \(name): message metadata")
        guard let meta else { throw NATSError(operation: "read \(name): message metadata", message: "none returned") }
        defer { jsMsgMetaData_Destroy(meta) }
        return (meta.pointee.Sequence.Stream, meta.pointee.NumPending)
    }

    /// Where the bucket's stream stands now (one stream-info request).
    /// Compared with a load's `positionAtStart`, it tells whether anything
    /// was written or removed since (docs/ARCHITECTURE.md, Start-up). Blocking.
    public func position() throws(NATSError) -> StreamPosition {
        let stream = "KV_" + name
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var code = jsErrCode(0)
        let lookup = js_GetStreamInfo(&info, jetStream.context, stream, nil, &code)
        defer { if let info { jsStreamInfo_Destroy(info) } }
        try check(lookup, code: code, "look up stream \(stream)")
        guard let info else { throw NATSError(operation: "look up stream \(stream)", message: "no stream info returned") }
        return StreamPosition(lastSequence: info.pointee.State.LastSeq, messages: info.pointee.State.Msgs)
    }

    /// Every live key with its value and revision, in stream order (a
    /// convenience over `loadAll(_:)`, which it reads with; deleted and
    /// purged keys are left out). Blocking.
    public func loadAll(idleTimeout: Duration = .seconds(5)) throws(NATSError) -> [Record] {
        var records: [Record?] = []
        var index: [String: Int] = [:]
        try loadAll(idleTimeout: idleTimeout) { key, value, revision, operation in
            if let previous = index.removeValue(forKey: key) { records[previous] = nil }
            guard operation == .put else { return }
            index[key] = records.count
            records.append(Record(key: key, value: [UInt8](value), revision: revision))
        }
        return records.compactMap { $0 }
    }
}

/// The metadata JetStream puts in a delivered message's reply subject, read
/// without allocating (the per-message cost of `KeyValueBucket.loadAll`;
/// docs/ARCHITECTURE.md, Start-up). The same forms libnats'
/// `natsMsg_GetMetaData` reads:
/// `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`
/// (9 tokens), and from nats-server 2.9 on, with a domain and an account
/// hash after `$JS.ACK` and possibly more tokens after `<pending>` (11 or more).
public enum AckReplySubject {
    /// The stream sequence and pending count; nil for any other form (the
    /// caller asks libnats then).
    public static func sequenceAndPending(_ reply: UnsafePointer<CChar>) -> (streamSequence: UInt64, pending: UInt64)? {
        let bytes = UnsafeRawPointer(reply)
        // `$JS.ACK.`, byte by byte (the string ends at the first mismatch at the latest).
        for (offset, byte) in "$JS.ACK.".utf8.enumerated() where bytes.load(fromByteOffset: offset, as: UInt8.self) != byte { return nil }
        // First pass: how many tokens, which tells the form.
        var tokens = 1
        var length = 0
        while true {
            let byte = bytes.load(fromByteOffset: length, as: UInt8.self)
            if byte == 0 { break }
            if byte == UInt8(ascii: ".") { tokens += 1 }
            length += 1
        }
        let sequenceToken: Int, pendingToken: Int
        switch tokens {
        case 9: (sequenceToken, pendingToken) = (5, 8)
        case 11...: (sequenceToken, pendingToken) = (7, 10)
        default: return nil
        }
        // Second pass: the two numbers.
        var sequence: UInt64?, pending: UInt64?
        var token = 0, start = 0
        for position in 0...length where position == length || bytes.load(fromByteOffset: position, as: UInt8.self) == UInt8(ascii: ".") {
            if token == sequenceToken { sequence = number(bytes, start, position) }
            if token == pendingToken {
                pending = number(bytes, start, position)
                break
            }
            token += 1
            start = position + 1
        }
        guard let sequence, let pending else { return nil }
        return (sequence, pending)
    }

    /// The decimal number in `bytes[start..<end]`; nil if empty, not all
    /// digits, or above `Int64.max` (as libnats reads them).
    private static func number(_ bytes: UnsafeRawPointer, _ start: Int, _ end: Int) -> UInt64? {
        guard end > start else { return nil }
        var value: UInt64 = 0
        for offset in start..<end {
            let digit = bytes.load(fromByteOffset: offset, as: UInt8.self) &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times, overflowed) = value.multipliedReportingOverflow(by: 10)
            let (sum, carried) = times.addingReportingOverflow(UInt64(digit))
            guard !overflowed, !carried else { return nil }
            value = sum
        }
        return value <= UInt64(Int64.max) ? value : nil
    }
}
