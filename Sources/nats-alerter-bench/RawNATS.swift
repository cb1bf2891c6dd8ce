import CNats
import Foundation
import Synchronization

/// The benchmark's own minimal libnats layer: the raw-limit rows measure
/// libnats itself, so nothing of nats-alerter's ingest sits in between.
final class RawConnection: @unchecked Sendable {
    // Used from one thread at a time per role (publisher or subscriber).
    let connection: OpaquePointer

    /// - Parameter sendAsap: write each publish to the socket at once. By
    ///   default libnats buffers publishes and its flusher thread writes them
    ///   out after waiting about a millisecond for more (libnats 3.4.1), which
    ///   a latency probe would count as the service's time.
    init(url: String, name: String, sendAsap: Bool = false) throws {
        _ = nats_Open(-1)
        var options: OpaquePointer?
        natsOptions_Create(&options)
        defer { natsOptions_Destroy(options) }
        natsOptions_SetURL(options, url)
        natsOptions_SetName(options, name)
        // Big buffers on both ends, as a load generator and a raw counter want.
        natsOptions_SetIOBufSize(options, 1 << 20)
        if sendAsap { natsOptions_SetSendAsap(options, true) }
        var connection: OpaquePointer?
        let status = natsConnection_Connect(&connection, options)
        guard status == NATS_OK, let connection else {
            throw BenchError("connect to \(url): \(String(cString: natsStatus_GetText(status)))")
        }
        self.connection = connection
    }

    deinit {
        natsConnection_Destroy(connection)
    }

    func publish(_ subject: String, _ payload: [UInt8]) throws {
        let status = payload.withUnsafeBytes { natsConnection_Publish(connection, subject, $0.baseAddress, Int32($0.count)) }
        guard status == NATS_OK else { throw BenchError("publish: \(String(cString: natsStatus_GetText(status)))") }
    }

    func flush() throws {
        let status = natsConnection_FlushTimeout(connection, 30_000)
        guard status == NATS_OK else { throw BenchError("flush: \(String(cString: natsStatus_GetText(status)))") }
    }
}

/// Counts messages on the libnats delivery thread and nothing else.
final class MessageCounter: Sendable {
    let count = Atomic<Int>(0)
    let firstNanos = Atomic<UInt64>(0)
    let lastNanos = Atomic<UInt64>(0)
    /// JetStream: ack each message (manual ack, no processing).
    let acknowledge: Bool

    init(acknowledge: Bool) { self.acknowledge = acknowledge }

    func record() {
        let now = wallNanos()
        if count.add(1, ordering: .relaxed).newValue == 1 { firstNanos.store(now, ordering: .relaxed) }
        lastNanos.store(now, ordering: .relaxed)
    }
}

private func benchOnMessage(_ nc: OpaquePointer?, _ sub: OpaquePointer?, _ msg: OpaquePointer?, _ closure: UnsafeMutableRawPointer?) {
    guard let msg, let closure else { return }
    let counter = Unmanaged<MessageCounter>.fromOpaque(closure).takeUnretainedValue()
    if counter.acknowledge { natsMsg_Ack(msg, nil) }
    natsMsg_Destroy(msg)
    counter.record()
}

/// A core-NATS or JetStream subscription feeding a `MessageCounter`.
final class CountingSubscription: @unchecked Sendable {
    let subscription: OpaquePointer
    let counter: MessageCounter
    private let context: Unmanaged<MessageCounter>
    private var jetStream: OpaquePointer?

    /// Core NATS: a plain subscription with large pending limits.
    init(connection: RawConnection, subject: String) throws {
        let counter = MessageCounter(acknowledge: false)
        self.counter = counter
        let context = Unmanaged.passRetained(counter)
        self.context = context
        var sub: OpaquePointer?
        let status = natsConnection_Subscribe(&sub, connection.connection, subject, benchOnMessage, context.toOpaque())
        guard status == NATS_OK, let sub else { throw BenchError("subscribe: \(String(cString: natsStatus_GetText(status)))") }
        natsSubscription_SetPendingLimits(sub, 524_288, 512 << 20)
        subscription = sub
    }

    /// JetStream: a durable push consumer with manual ack on `stream` (or AckNone, `acknowledge` false).
    init(connection: RawConnection, stream: String, subject: String, durable: String, acknowledge: Bool = true) throws {
        let counter = MessageCounter(acknowledge: acknowledge)
        self.counter = counter
        let context = Unmanaged.passRetained(counter)
        self.context = context
        var js: OpaquePointer?
        guard natsConnection_JetStream(&js, connection.connection, nil) == NATS_OK, let js else { throw BenchError("JetStream context") }
        var options = jsSubOptions()
        jsSubOptions_Init(&options)
        var sub: OpaquePointer?
        var code = jsErrCode(0)
        let status: natsStatus = stream.withCString { streamName in
            durable.withCString { durableName in
                options.Stream = streamName
                // Never libnats' auto-ack: the callback acks (or, AckNone, nothing does).
                options.ManualAck = true
                options.Config.Durable = durableName
                options.Config.AckPolicy = acknowledge ? js_AckExplicit : js_AckNone
                options.Config.DeliverPolicy = js_DeliverAll
                // The server refuses max_ack_pending on an AckNone consumer.
                if acknowledge { options.Config.MaxAckPending = 65_536 }
                return js_Subscribe(&sub, js, subject, benchOnMessage, context.toOpaque(), nil, &options, &code)
            }
        }
        guard status == NATS_OK, let sub else { throw BenchError("js subscribe: \(String(cString: natsStatus_GetText(status))) (\(code.rawValue))") }
        natsSubscription_SetPendingLimits(sub, 524_288, 512 << 20)
        subscription = sub
        jetStream = js
    }

    var dropped: Int64 {
        var dropped: Int64 = 0
        natsSubscription_GetDropped(subscription, &dropped)
        return dropped
    }

    deinit {
        natsSubscription_Unsubscribe(subscription)
        natsSubscription_Destroy(subscription)
        if let jetStream { jsCtx_Destroy(jetStream) }
        context.release()
    }
}

func wallNanos() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
