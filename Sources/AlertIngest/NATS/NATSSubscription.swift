import CNats
import Glibc
import Synchronization

/// One received NATS message, valid only for the duration of
/// `NATSMessageHandler.handle(_:)`: its payload points into libnats' buffer,
/// which is freed (`natsMsg_Destroy`) as soon as the handler returns.
public struct NATSMessage: ~Copyable {
    let msg: OpaquePointer

    /// The subject the message was published on.
    public var subject: String { MessageAccess.subject(msg) }

    /// The payload, borrowed from libnats (no copy).
    public var payload: UnsafeRawBufferPointer { MessageAccess.payload(msg) }

    /// The subject's bytes, borrowed from libnats (no `String`).
    var subjectBytes: UnsafeRawBufferPointer { MessageAccess.subjectBytes(msg) }

    /// Where a request wants its answer (`NATSConnection.publish` to it); nil for a plain publish.
    public var replySubject: String? { MessageAccess.reply(msg) }

    /// The first value of a header, or nil when absent.
    public func header(_ name: String) -> String? { MessageAccess.header(msg, name) }
}

/// Reads a `natsMsg`; shared by core and JetStream messages.
enum MessageAccess {
    static func subject(_ msg: OpaquePointer) -> String {
        String(cString: natsMsg_GetSubject(msg))
    }

    static func subjectBytes(_ msg: OpaquePointer) -> UnsafeRawBufferPointer {
        guard let subject = natsMsg_GetSubject(msg) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: subject, count: strlen(subject))
    }

    static func reply(_ msg: OpaquePointer) -> String? {
        guard let reply = natsMsg_GetReply(msg), reply.pointee != 0 else { return nil }
        return String(cString: reply)
    }

    static func payload(_ msg: OpaquePointer) -> UnsafeRawBufferPointer {
        let length = Int(natsMsg_GetDataLength(msg))
        guard length > 0, let data = natsMsg_GetData(msg) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: data, count: length)
    }

    static func header(_ msg: OpaquePointer, _ name: String) -> String? {
        var value: UnsafePointer<CChar>?
        guard natsMsgHeader_Get(msg, name, &value) == NATS_OK, let value else { return nil }
        return String(cString: value)
    }
}

/// Receives the messages of a subscription.
///
/// Threading: `handle` runs synchronously on the subscription's libnats
/// delivery thread, one message at a time per subscription (different
/// subscriptions may call it concurrently). It must not block for long:
/// while it runs, messages queue in the subscription's pending buffer.
public protocol NATSMessageHandler: Sendable {
    func handle(_ message: borrowing NATSMessage)
}

/// A core NATS subscription delivering to a `NATSMessageHandler`.
///
/// Lifetime: the handler box is retained once for the C side and released by
/// the on-complete callback, which libnats calls after the last delivery once
/// the subscription is drained, unsubscribed or its connection closed — a
/// handler may still run after `natsSubscription_Destroy` (docs/ARCHITECTURE.md, Threads), so
/// it must never be freed earlier.
public final class NATSSubscription: Sendable {
    nonisolated(unsafe) private let subscription: OpaquePointer
    public let subject: String
    public let queueGroup: String?
    private let destroyed = Atomic<Bool>(false)

    public init(
        connection: NATSConnection,
        subject: String,
        queueGroup: String? = nil,
        handler: any NATSMessageHandler
    ) throws(NATSError) {
        self.subject = subject
        self.queueGroup = queueGroup
        let box = Unmanaged.passRetained(HandlerBox(handler)).toOpaque()
        var sub: OpaquePointer?
        let status: natsStatus
        if let queueGroup {
            status = natsConnection_QueueSubscribe(&sub, connection.connection, subject, queueGroup, natsAlerterOnMessage, box)
        } else {
            status = natsConnection_Subscribe(&sub, connection.connection, subject, natsAlerterOnMessage, box)
        }
        guard status == NATS_OK, let sub else {
            Unmanaged<HandlerBox>.fromOpaque(box).release()
            throw NATSError("subscribe to \(subject)", status)
        }
        self.subscription = sub
        let completion = natsSubscription_SetOnCompleteCB(sub, natsAlerterOnSubscriptionComplete, box)
        if completion != NATS_OK {
            // Without the completion callback we cannot know when the box is
            // safe to free; keep it alive for the process (a few bytes).
            _ = completion
        }
        let limits = natsSubscription_SetPendingLimits(
            sub,
            Int32(clamping: connection.configuration.pendingMessagesLimit),
            Int32(clamping: connection.configuration.pendingBytesLimit)
        )
        try check(limits, "set pending limits on \(subject)")
    }

    /// Messages libnats dropped because the handler fell behind.
    public var droppedCount: Int64 {
        var dropped: Int64 = 0
        natsSubscription_GetDropped(subscription, &dropped)
        return dropped
    }

    /// Messages received but not yet handled.
    public var pendingCount: Int {
        var msgs: Int32 = 0
        var bytes: Int32 = 0
        natsSubscription_GetPending(subscription, &msgs, &bytes)
        return Int(msgs)
    }

    /// Stops accepting messages, lets the handler finish those already
    /// received, then completes. Blocking, up to `timeout`.
    public func drain(timeout: Duration) throws(NATSError) {
        let status = natsSubscription_DrainTimeout(subscription, timeout.milliseconds)
        if status == NATS_CONNECTION_CLOSED || status == NATS_INVALID_SUBSCRIPTION { return }
        try check(status, "drain \(subject)")
        let wait = natsSubscription_WaitForDrainCompletion(subscription, timeout.milliseconds)
        if wait != NATS_OK && wait != NATS_INVALID_SUBSCRIPTION && wait != NATS_CONNECTION_CLOSED {
            throw NATSError("drain \(subject)", wait)
        }
    }

    deinit {
        if !destroyed.exchange(true, ordering: .acquiringAndReleasing) {
            natsSubscription_Destroy(subscription)
        }
    }
}

/// Holds the handler existential behind one stable pointer.
final class HandlerBox: Sendable {
    let handler: any NATSMessageHandler
    init(_ handler: any NATSMessageHandler) { self.handler = handler }
}

/// libnats' message callback: handle synchronously on this thread, then
/// always destroy the message.
private func natsAlerterOnMessage(_ nc: OpaquePointer?, _ sub: OpaquePointer?, _ msg: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    guard let msg else { return }
    defer { natsMsg_Destroy(msg) }
    guard let closure else { return }
    let box = Unmanaged<HandlerBox>.fromOpaque(closure).takeUnretainedValue()
    box.handler.handle(NATSMessage(msg: msg))
}

private func natsAlerterOnSubscriptionComplete(_ closure: UnsafeMutableRawPointer?) {
    guard let closure else { return }
    Unmanaged<HandlerBox>.fromOpaque(closure).release()
}
