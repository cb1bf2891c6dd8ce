import CNats
import Foundation
import Synchronization

/// A message from a JetStream consumer. Owns the `natsMsg` until released
/// (the last reference destroys it), so it can be acknowledged after its
/// effect is recorded — possibly on another thread than the one it came on.
///
/// On a consumer with batched acks (`ConsumerConfiguration.batchedAcks`,
/// AckAll) `ack` and `term` only mark it done in the subscription's
/// `AckTracker`, which acks in batches; released without either, it is
/// abandoned there (its sequence blocks the ack floor until redelivered).
public final class JetStreamDelivery: Acknowledgeable, @unchecked Sendable {
    // The message is only read (payload, headers) and acked through libnats,
    // which is thread-safe for these calls.
    let msg: OpaquePointer
    private let tracker: AckTracker?
    /// The stream sequence, when tracked.
    let sequence: UInt64
    private let completed = Atomic<Bool>(false)

    init(msg: OpaquePointer, tracker: AckTracker? = nil, sequence: UInt64 = 0) {
        self.msg = msg
        self.tracker = tracker
        self.sequence = sequence
    }

    deinit {
        if let tracker, !completed.load(ordering: .acquiring) { tracker.abandon(sequence: sequence, deliveryCount: deliveryCount) }
        natsMsg_Destroy(msg)
    }

    public var subject: String { MessageAccess.subject(msg) }
    /// The subject's bytes, valid as long as the delivery.
    var subjectBytes: UnsafeRawBufferPointer { MessageAccess.subjectBytes(msg) }
    public var payload: UnsafeRawBufferPointer { MessageAccess.payload(msg) }
    public func header(_ name: String) -> String? { MessageAccess.header(msg, name) }

    /// First completion wins; later ones do nothing.
    private func complete() -> Bool {
        !completed.exchange(true, ordering: .acquiringAndReleasing)
    }

    /// Processed: JetStream will not deliver it again.
    public func ack() {
        guard complete() else { return }
        if let tracker { tracker.done(sequence: sequence) } else { _ = natsMsg_Ack(msg, nil) }
    }
    /// Bad: never deliver again. With batched acks it is acked with the
    /// batch instead: on an AckAll consumer nats-server treats `+TERM` as an
    /// ack of every lower sequence too (docs/ARCHITECTURE.md, Durability).
    public func term() {
        guard complete() else { return }
        if let tracker { tracker.done(sequence: sequence) } else { _ = natsMsg_Term(msg, nil) }
    }
    /// Not now: deliver again after `delay`.
    public func nak(delay: Duration) {
        guard complete() else { return }
        tracker?.abandon(sequence: sequence, deliveryCount: deliveryCount)
        _ = natsMsg_NakWithDelay(msg, delay.nanoseconds / 1_000_000, nil)
    }
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

/// The stream and consumer sequences of a JetStream message, read from its
/// reply subject without allocating: `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>`,
/// or the newer form with domain and account hash (12 tokens or more, the
/// same fields two tokens later).
enum AckReply {
    static func sequences(_ reply: UnsafePointer<CChar>) -> (stream: UInt64, consumer: UInt64)? {
        // Tokens 5 and 6 (short form) and 7 and 8 (long form), and how many there are.
        var ranges = (0..<0, 0..<0, 0..<0, 0..<0)
        var count = 0, index = 0, start = 0
        while true {
            let byte = reply[index]
            if byte == 0 || byte == 0x2E {
                switch count {
                case 5: ranges.0 = start..<index
                case 6: ranges.1 = start..<index
                case 7: ranges.2 = start..<index
                case 8: ranges.3 = start..<index
                default: break
                }
                count += 1
                if byte == 0 { break }
                start = index + 1
            }
            index += 1
        }
        let streamRange: Range<Int>, consumerRange: Range<Int>
        switch count {
        case 9: (streamRange, consumerRange) = (ranges.0, ranges.1)
        case 12...: (streamRange, consumerRange) = (ranges.2, ranges.3)
        default: return nil
        }
        guard let stream = number(reply, streamRange), let consumer = number(reply, consumerRange) else { return nil }
        return (stream, consumer)
    }

    private static func number(_ text: UnsafePointer<CChar>, _ range: Range<Int>) -> UInt64? {
        guard !range.isEmpty, range.count <= 19 else { return nil }
        var value: UInt64 = 0
        for index in range {
            let digit = UInt8(bitPattern: text[index]) &- 0x30
            guard digit < 10 else { return nil }
            value = value * 10 + UInt64(digit)
        }
        return value
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
    /// AckAll with an `AckTracker` acking in batches (the event consumers,
    /// docs/ARCHITECTURE.md, Durability); false: AckExplicit, each message
    /// acked on its own (the outbox).
    public var batchedAcks: Bool

    public init(durable: String = "nats-alerter", ackWait: Duration = .seconds(30), maxDeliver: Int = 10, maxAckPending: Int = 65_536,
                startSequence: UInt64? = nil, batchedAcks: Bool = false) {
        self.durable = durable
        self.batchedAcks = batchedAcks
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
    /// With batched acks: the subscription's acknowledgements.
    public let acknowledgements: AckTracker?

    /// - Parameters:
    ///   - deliveredBefore: with batched acks, the last consumer sequence an
    ///     existing durable delivered (0 for one created here), so a gap is
    ///     told from a resumed count.
    ///   - onAckGap: with batched acks, told when a lost delivery froze
    ///     acking (for the log).
    public init(jetStream: JetStream, stream: String, subject: String, consumer: ConsumerConfiguration, handler: any JetStreamMessageHandler,
                deliveredBefore: UInt64 = 0, onAckGap: @escaping @Sendable () -> Void = {}) throws(NATSError) {
        self.jetStream = jetStream
        self.subject = subject
        var tracker: AckTracker?
        if consumer.batchedAcks {
            let connection = jetStream.connection
            tracker = AckTracker(ackWait: consumer.ackWait, deliveredBefore: deliveredBefore, maxDeliver: consumer.maxDeliver, send: { reply in connection.acknowledge(reply) }, onGap: onAckGap)
        }
        acknowledgements = tracker
        let box = Unmanaged.passRetained(JetStreamHandlerBox(handler, tracker: tracker)).toOpaque()
        var sub: OpaquePointer?
        var code = jsErrCode(0)
        var options = jsSubOptions()
        jsSubOptions_Init(&options)
        let status: natsStatus = stream.withCString { streamName in
            consumer.durable.withCString { durable in
                options.Stream = streamName
                options.ManualAck = true
                options.Config.Durable = durable
                options.Config.AckPolicy = consumer.batchedAcks ? js_AckAll : js_AckExplicit
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
    let tracker: AckTracker?
    init(_ handler: any JetStreamMessageHandler, tracker: AckTracker?) {
        self.handler = handler
        self.tracker = tracker
    }
}

private func natsAlerterOnJetStreamMessage(_ nc: OpaquePointer?, _ sub: OpaquePointer?, _ msg: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    guard let msg else { return }
    guard let closure else {
        natsMsg_Destroy(msg)
        return
    }
    let box = Unmanaged<JetStreamHandlerBox>.fromOpaque(closure).takeUnretainedValue()
    // The delivery owns the message from here; it is destroyed with the delivery.
    guard let tracker = box.tracker else {
        box.handler.handle(JetStreamDelivery(msg: msg))
        return
    }
    // Registered before it is handled: nothing above it is acked until it is done.
    guard let reply = natsMsg_GetReply(msg), let sequences = AckReply.sequences(reply) else {
        tracker.unreadable()
        box.handler.handle(JetStreamDelivery(msg: msg))
        return
    }
    tracker.register(sequence: sequences.stream, deliverySequence: sequences.consumer, reply: String(cString: reply))
    box.handler.handle(JetStreamDelivery(msg: msg, tracker: tracker, sequence: sequences.stream))
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
