import CNats
import Foundation

/// The events stream nats-alerter reads (`nats.jetstream`).
public struct EventStreamConfiguration: Sendable, Equatable {
    public var name: String
    /// Subjects the stream captures; when empty, the subscribed subjects.
    public var subjects: [String]
    /// Create or update the stream at start (file storage); false = bind to an existing one.
    public var create: Bool
    /// JetStream drops a message whose `Nats-Msg-Id` it saw within this window.
    public var duplicateWindow: Duration
    /// How long events are kept (0 = until acknowledged by the consumer… limits still apply).
    public var maxAge: Duration
    public var replicas: Int
    /// Work-queue retention: a message is removed once acknowledged (the
    /// outbox); otherwise limits retention (the events stream).
    public var workQueue = false
    /// At most this many messages (the oldest go first); nil: no limit.
    public var maxMessages: Int64?

    public init(name: String = "ALERT_EVENTS", subjects: [String] = [], create: Bool = true,
                duplicateWindow: Duration = .seconds(120), maxAge: Duration = .seconds(7 * 86400), replicas: Int = 1) {
        self.name = name
        self.subjects = subjects
        self.create = create
        self.duplicateWindow = duplicateWindow
        self.maxAge = maxAge
        self.replicas = replicas
    }
}

/// A JetStream context on a connection. Owns the `jsCtx`.
public final class JetStream: Sendable {
    nonisolated(unsafe) let context: OpaquePointer
    public let connection: NATSConnection

    /// - Parameter requestTimeout: how long JetStream API requests and
    ///   publishes wait for an answer (libnats' default: 5 s).
    public init(connection: NATSConnection, requestTimeout: Duration? = nil) throws(NATSError) {
        var js: OpaquePointer?
        var options = jsOptions()
        jsOptions_Init(&options)
        if let requestTimeout { options.Wait = max(1, requestTimeout.nanoseconds / 1_000_000) }
        try check(natsConnection_JetStream(&js, connection.connection, &options), "JetStream context")
        guard let js else { throw NATSError(operation: "JetStream context", message: "none returned") }
        self.context = js
        self.connection = connection
    }

    deinit {
        jsCtx_Destroy(context)
    }

    /// Creates or updates the stream, or binds to an existing one and
    /// checks that it captures every subject nats-alerter subscribes to.
    public func ensureStream(_ stream: EventStreamConfiguration, subscribed: [String]) throws(NATSError) {
        let subjects = stream.subjects.isEmpty ? subscribed : stream.subjects
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var code = jsErrCode(0)
        let lookup = js_GetStreamInfo(&info, context, stream.name, nil, &code)
        defer { if let info { jsStreamInfo_Destroy(info) } }
        let exists = lookup == NATS_OK && info != nil
        if lookup != NATS_OK && lookup != NATS_NOT_FOUND {
            throw NATSError("look up stream \(stream.name)", lookup, code: code)
        }
        if !stream.create {
            guard exists, let config = info?.pointee.Config else {
                throw NATSError(operation: "bind to stream \(stream.name)", message: "the stream does not exist and nats.jetstream.create is false")
            }
            let captured = (0..<Int(config.pointee.SubjectsLen)).compactMap { config.pointee.Subjects?[$0].map { String(cString: $0) } }
            let missing = subscribed.filter { subject in !captured.contains { Self.covers($0, subject) } }
            if !missing.isEmpty {
                throw NATSError(operation: "bind to stream \(stream.name)",
                                message: "the stream captures \(captured) but not \(missing); add them to the stream or set nats.jetstream.create: true")
            }
            return
        }
        try withCStringArray(subjects) { (array, count) throws(NATSError) in
            var config = jsStreamConfig()
            jsStreamConfig_Init(&config)
            let (status, code): (natsStatus, jsErrCode) = stream.name.withCString { name in
                config.Name = name
                config.Subjects = array
                config.SubjectsLen = Int32(count)
                config.Storage = js_FileStorage
                config.Duplicates = stream.duplicateWindow.nanoseconds
                config.MaxAge = stream.maxAge.nanoseconds
                config.Replicas = Int64(stream.replicas)
                if stream.workQueue { config.Retention = js_WorkQueuePolicy }
                if let maxMessages = stream.maxMessages { config.MaxMsgs = maxMessages }
                var created: UnsafeMutablePointer<jsStreamInfo>?
                var code = jsErrCode(0)
                let status = exists ? js_UpdateStream(&created, context, &config, nil, &code) : js_AddStream(&created, context, &config, nil, &code)
                if let created { jsStreamInfo_Destroy(created) }
                return (status, code)
            }
            try check(status, code: code, exists ? "update stream \(stream.name)" : "create stream \(stream.name)")
        }
    }

    /// How many messages the stream holds now.
    public func messageCount(stream: String) throws(NATSError) -> Int {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var code = jsErrCode(0)
        let status = js_GetStreamInfo(&info, context, stream, nil, &code)
        defer { if let info { jsStreamInfo_Destroy(info) } }
        try check(status, code: code, "look up stream \(stream)")
        return Int(info?.pointee.State.Msgs ?? 0)
    }

    /// Publishes and waits for the stream's acknowledgement (so the message
    /// is stored). `messageID` becomes `Nats-Msg-Id` for duplicate suppression.
    public func publish(subject: String, payload: [UInt8], messageID: String? = nil, timeout: Duration = .seconds(5)) throws(NATSError) {
        var options = jsPubOptions()
        jsPubOptions_Init(&options)
        options.MaxWait = timeout.nanoseconds / 1_000_000
        var ack: UnsafeMutablePointer<jsPubAck>?
        var code = jsErrCode(0)
        let status: natsStatus = payload.withUnsafeBytes { bytes in
            if let messageID {
                return messageID.withCString { id in
                    options.MsgId = id
                    return js_Publish(&ack, context, subject, bytes.baseAddress, Int32(bytes.count), &options, &code)
                }
            }
            return js_Publish(&ack, context, subject, bytes.baseAddress, Int32(bytes.count), &options, &code)
        }
        if let ack { jsPubAck_Destroy(ack) }
        try check(status, code: code, "publish to \(subject)")
    }

    /// Publishes only if `subject` holds no message yet in its stream
    /// (`Nats-Expected-Last-Subject-Sequence: 0`, checked by the stream
    /// leader when it applies the message): true when stored, false when the
    /// subject already had a message. A retry with the same `messageID`
    /// after an unanswered attempt is dropped as a duplicate and reported as
    /// stored, so a timeout never makes a stored message look refused.
    /// Throws only when no answer came (retry).
    public func publishIfFirst(subject: String, payload: [UInt8], messageID: String) throws(NATSError) -> Bool {
        var options = jsPubOptions()
        jsPubOptions_Init(&options)
        options.ExpectNoMessage = true
        var ack: UnsafeMutablePointer<jsPubAck>?
        var code = jsErrCode(0)
        let status: natsStatus = payload.withUnsafeBytes { bytes in
            messageID.withCString { id in
                options.MsgId = id
                return js_Publish(&ack, context, subject, bytes.baseAddress, Int32(bytes.count), &options, &code)
            }
        }
        if let ack { jsPubAck_Destroy(ack) }
        if status == NATS_OK { return true }
        // 10071: wrong last sequence — the subject has a message.
        if code.rawValue == 10071 { return false }
        throw NATSError("publish to \(subject)", status, code: code)
    }

    /// The last message of a stream (subject and payload), nil when it is empty.
    public func lastMessage(stream: String) throws(NATSError) -> (subject: String, payload: [UInt8])? {
        var info: UnsafeMutablePointer<jsStreamInfo>?
        var code = jsErrCode(0)
        let status = js_GetStreamInfo(&info, context, stream, nil, &code)
        defer { if let info { jsStreamInfo_Destroy(info) } }
        try check(status, code: code, "look up stream \(stream)")
        let last = info?.pointee.State.LastSeq ?? 0
        guard last > 0, (info?.pointee.State.Msgs ?? 0) > 0 else { return nil }
        var msg: OpaquePointer?
        let got = js_GetMsg(&msg, context, stream, last, nil, &code)
        try check(got, code: code, "read message \(last) of stream \(stream)")
        guard let msg else { return nil }
        defer { natsMsg_Destroy(msg) }
        return (MessageAccess.subject(msg), [UInt8](MessageAccess.payload(msg)))
    }

    /// A durable consumer's ack floor (the stream sequence up to which every
    /// message is acknowledged), nil when the consumer does not exist.
    public func ackFloor(stream: String, durable: String) throws(NATSError) -> UInt64? {
        try consumerState(stream: stream, durable: durable)?.ackFloor
    }

    /// What a durable consumer is, for the move to batched acks: whether it
    /// acks all (AckAll), its ack floor, whether a subscription is bound to
    /// it, the last consumer sequence it delivered, and its
    /// acknowledgement-pending count; nil when it does not exist.
    public func consumerState(stream: String, durable: String) throws(NATSError)
        -> (acksAll: Bool, ackFloor: UInt64, pushBound: Bool, delivered: UInt64, ackPending: Int64)? {
        var info: UnsafeMutablePointer<jsConsumerInfo>?
        var code = jsErrCode(0)
        let status = js_GetConsumerInfo(&info, context, stream, durable, nil, &code)
        defer { if let info { jsConsumerInfo_Destroy(info) } }
        if status == NATS_NOT_FOUND || code.rawValue == 10014 { return nil }
        try check(status, code: code, "look up consumer \(durable) of stream \(stream)")
        guard let info else { return nil }
        let config = info.pointee.Config
        return (config?.pointee.AckPolicy == js_AckAll, info.pointee.AckFloor.Stream, info.pointee.PushBound,
                info.pointee.Delivered.Consumer, info.pointee.NumAckPending)
    }

    /// Deletes a durable consumer; one that does not exist is no error.
    public func deleteConsumer(stream: String, durable: String) throws(NATSError) {
        var code = jsErrCode(0)
        let status = js_DeleteConsumer(context, stream, durable, nil, &code)
        if status == NATS_NOT_FOUND || code.rawValue == 10014 { return }
        try check(status, code: code, "delete consumer \(durable) of stream \(stream)")
    }

    /// Whether stream subject pattern `pattern` captures everything `subject` (itself possibly a wildcard) can match.
    static func covers(_ pattern: String, _ subject: String) -> Bool {
        let p = pattern.split(separator: ".", omittingEmptySubsequences: false)
        let s = subject.split(separator: ".", omittingEmptySubsequences: false)
        for (index, token) in p.enumerated() {
            if token == ">" { return s.count > index }
            guard index < s.count else { return false }
            if s[index] == ">" { return false }
            if token == "*" { continue }
            if token != s[index] { return false }
        }
        return p.count == s.count
    }
}

extension NATSError {
    init(_ operation: String, _ status: natsStatus, code: jsErrCode) {
        self.init(operation, status)
        if code.rawValue != 0 {
            statusText += " (JetStream error \(code.rawValue))"
            jetStreamCode = Int32(code.rawValue)
        }
    }
}

@inline(__always)
func check(_ status: natsStatus, code: jsErrCode, _ operation: @autoclosure () -> String) throws(NATSError) {
    if status != NATS_OK { throw NATSError(operation(), status, code: code) }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
