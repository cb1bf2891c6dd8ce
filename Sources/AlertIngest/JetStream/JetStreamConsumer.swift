import CNats
import Foundation

/// A message from a JetStream consumer. Owns the `natsMsg` until released
/// (the last reference destroys it), so it can be acknowledged after its
/// effect is recorded — possibly on another thread than the one it came on.
public final class JetStreamDelivery: Acknowledgeable, @unchecked Sendable {
    // The message is only read (payload, headers) and acked through libnats,
    // which is thread-safe for these calls.
    let msg: OpaquePointer

    init(msg: OpaquePointer) {
        self.msg = msg
    }

    deinit {
        natsMsg_Destroy(msg)
    }

    public var subject: String { MessageAccess.subject(msg) }
    /// The subject's bytes, valid as long as the delivery.
    var subjectBytes: UnsafeRawBufferPointer { MessageAccess.subjectBytes(msg) }
    public var payload: UnsafeRawBufferPointer { MessageAccess.payload(msg) }
    public func header(_ name: String) -> String? { MessageAccess.header(msg, name) }

    /// Processed: JetStream will not deliver it again.
    public func ack() { _ = natsMsg_Ack(msg, nil) }
    /// Bad: never deliver again.
    public func term() { _ = natsMsg_Term(msg, nil) }
    /// Not now: deliver again after `delay`.
    public func nak(delay: Duration) { _ = natsMsg_NakWithDelay(msg, delay.nanoseconds / 1_000_000, nil) }
    /// Still working on it: restarts the ack-wait timer, so JetStream does
    /// not redeliver it meanwhile.
    public func inProgress() { _ = natsMsg_InProgress(msg, nil) }

    /// How many times JetStream has delivered it (1 = first time).
    public var deliveryCount: UInt64 {
        var meta: UnsafeMutablePointer<jsMsgMetaData>?
        guard natsMsg_GetMetaData(&meta, msg) == NATS_OK, let meta else { return 1 }
        defer { jsMsgMetaData_Destroy(meta) }
        return meta.pointee.NumDelivered
    }
}

/// Receives a consumer's messages, on libnats' delivery thread, one at a time.
public protocol JetStreamMessageHandler: Sendable {
    func handle(_ delivery: JetStreamDelivery)
}

/// Settings of the durable consumer (`nats.jetstream`).
public struct ConsumerConfiguration: Sendable, Equatable {
    public var durable: String
    public var ackWait: Duration
    public var maxDeliver: Int
    public var maxAckPending: Int
    /// Creates the consumer delivering from this stream sequence on (a new
    /// owner's consumer starts at the old one's ack floor + 1); nil: from the
    /// first message, or where an existing durable left off.
    public var startSequence: UInt64?

    public init(durable: String = "nats-alerter", ackWait: Duration = .seconds(30), maxDeliver: Int = 10, maxAckPending: Int = 65_536,
                startSequence: UInt64? = nil) {
        self.durable = durable
        self.startSequence = startSequence
        self.ackWait = ackWait
        self.maxDeliver = maxDeliver
        self.maxAckPending = maxAckPending
    }
}

/// A durable push consumer with manual ack (never libnats' auto-ack, and not
/// a pull consumer: libnats 3.4.1's Fetch has a heap overflow — DESIGN §8).
/// One process consumes it at a time (libnats refuses a second subscription
/// on a bound push durable); high availability moves it between instances
/// (docs/ARCHITECTURE.md, High availability).
public final class JetStreamConsumer: Sendable {
    nonisolated(unsafe) private let subscription: OpaquePointer
    private let jetStream: JetStream
    public let subject: String

    public init(jetStream: JetStream, stream: String, subject: String, consumer: ConsumerConfiguration, handler: any JetStreamMessageHandler) throws(NATSError) {
        self.jetStream = jetStream
        self.subject = subject
        let box = Unmanaged.passRetained(JetStreamHandlerBox(handler)).toOpaque()
        var sub: OpaquePointer?
        var code = jsErrCode(0)
        var options = jsSubOptions()
        jsSubOptions_Init(&options)
        let status: natsStatus = stream.withCString { streamName in
            consumer.durable.withCString { durable in
                options.Stream = streamName
                options.ManualAck = true
                options.Config.Durable = durable
                options.Config.AckPolicy = js_AckExplicit
                if let start = consumer.startSequence {
                    options.Config.DeliverPolicy = js_DeliverByStartSequence
                    options.Config.OptStartSeq = start
                } else {
                    options.Config.DeliverPolicy = js_DeliverAll
                }
                options.Config.AckWait = consumer.ackWait.nanoseconds
                options.Config.MaxDeliver = Int64(consumer.maxDeliver)
                options.Config.MaxAckPending = Int64(consumer.maxAckPending)
                return js_Subscribe(&sub, jetStream.context, subject, natsAlerterOnJetStreamMessage, box, nil, &options, &code)
            }
        }
        guard status == NATS_OK, let sub else {
            Unmanaged<JetStreamHandlerBox>.fromOpaque(box).release()
            throw NATSError("consume \(subject) from stream \(stream) as \(consumer.durable)", status, code: code)
        }
        subscription = sub
        _ = natsSubscription_SetOnCompleteCB(sub, natsAlerterOnJetStreamComplete, box)
        _ = natsSubscription_SetPendingLimits(sub, Int32(clamping: jetStream.connection.configuration.pendingMessagesLimit),
                                              Int32(clamping: jetStream.connection.configuration.pendingBytesLimit))
    }

    public var droppedCount: Int64 {
        var dropped: Int64 = 0
        natsSubscription_GetDropped(subscription, &dropped)
        return dropped
    }

    public var pendingCount: Int {
        var msgs: Int32 = 0, bytes: Int32 = 0
        natsSubscription_GetPending(subscription, &msgs, &bytes)
        return Int(msgs)
    }

    /// Stops delivery (the durable consumer stays on the server) after the
    /// handler finished what was already received. Blocking.
    public func drain(timeout: Duration) throws(NATSError) {
        let status = natsSubscription_DrainTimeout(subscription, timeout.nanoseconds / 1_000_000)
        if status == NATS_CONNECTION_CLOSED || status == NATS_INVALID_SUBSCRIPTION { return }
        try check(status, "drain \(subject)")
        _ = natsSubscription_WaitForDrainCompletion(subscription, timeout.nanoseconds / 1_000_000)
    }

    deinit {
        natsSubscription_Destroy(subscription)
    }
}

final class JetStreamHandlerBox: Sendable {
    let handler: any JetStreamMessageHandler
    init(_ handler: any JetStreamMessageHandler) { self.handler = handler }
}

private func natsAlerterOnJetStreamMessage(_ nc: OpaquePointer?, _ sub: OpaquePointer?, _ msg: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    guard let msg else { return }
    guard let closure else {
        natsMsg_Destroy(msg)
        return
    }
    let box = Unmanaged<JetStreamHandlerBox>.fromOpaque(closure).takeUnretainedValue()
    // The delivery owns the message from here; it is destroyed with the delivery.
    box.handler.handle(JetStreamDelivery(msg: msg))
}

private func natsAlerterOnJetStreamComplete(_ closure: UnsafeMutableRawPointer?) {
    guard let closure else { return }
    Unmanaged<JetStreamHandlerBox>.fromOpaque(closure).release()
}

/// What the service needs of a subscription, core or JetStream.
public protocol IngestSubscription: Sendable {
    var droppedCount: Int64 { get }
    var pendingCount: Int { get }
    func drain(timeout: Duration) throws(NATSError)
}

extension NATSSubscription: IngestSubscription {}
extension JetStreamConsumer: IngestSubscription {}
