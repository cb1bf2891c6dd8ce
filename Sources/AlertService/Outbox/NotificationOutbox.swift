public import AlertCore
import AlertIngest
public import AlertNotify
import Foundation
import Logging
import Synchronization

/// The durable outbox (durable mode): a notification is stored in JetStream
/// before the decision behind it is recorded, and leaves it only once its
/// receiver has it, was given up on (dead letter), or was sent before.
///
/// - Stream `<PREFIX>_OUTBOX` (work-queue retention) on subjects
///   `<prefix>.outbox.<receiver hex>.<integration kind>.<index>`: one message
///   per integration of the notification's receiver, with `Nats-Msg-Id`
///   `<notification id>.<integration>` — the decision id is the same when the
///   engine re-decides after a crash, so JetStream drops the copy.
/// - One durable push consumer per integration, manual ack, one message in
///   flight (`MaxAckPending` 1): notifications reach each integration in the
///   order they were decided.
/// - A failed send is retried in this process with the retry policy's
///   backoff (honouring `Retry-After`), the message kept ours meanwhile with
///   `+WPI` (in progress). Not `NakWithDelay`: a NAK gives the slot back, the
///   server then delivers the next message, and the order per group is lost;
///   and waiting out a receiver outage would burn `max_deliver`. A crash
///   while waiting leaves the message unacknowledged: JetStream redelivers it
///   after `ack_wait` to the next process.
/// - The sent log (KV bucket `<prefix>_sent`, keys expire after a day) is
///   checked before sending and written after; then the message is acked. The
///   one window left: a crash between the receiver accepting a notification
///   and the sent-log write (one KV round trip, about a millisecond), after
///   which that notification is sent once more.
/// - Given up (permanent failure, retry deadline, more than `max_deliver`
///   deliveries, undecodable, receiver gone): published to the dead-letter
///   subject with the reason in headers, logged, counted, terminated.
///
/// Delivery itself goes through `Notifiers`, the same integrations and
/// retry policy as in memory mode; the outbox adds storage, order and the
/// sent log around it.
public final class NotificationOutbox: NotificationSink {
    typealias Address = IntegrationAddress
    typealias Settings = AlerterConfig.OutboxSection

    let jetStream: JetStream
    let streamName: String
    let subjectPrefix: String
    private let settings: Settings
    private let notifiers: Notifiers
    private let notificationLog: NotificationLog
    private let delivery: OutboxDelivery
    private let consumers = Mutex<[Address: (consumer: JetStreamConsumer, worker: OutboxWorker)]>([:])
    var deadLetters: DeadLetterCounts { delivery.deadLetters }

    /// - Parameters:
    ///   - notifiers: delivers each message (and says which integrations a receiver has).
    ///   - notificationLog: a notification given up on is taken out of it,
    ///     so the next flush decides again.
    init(notifiers: Notifiers, notificationLog: NotificationLog, jetStream: JetStream, prefix: String, bucket: KeyValueBucket.Settings,
         settings: Settings, deadLetterSubject: String?, logger: Logger) throws(NATSError) {
        self.notifiers = notifiers
        self.notificationLog = notificationLog
        self.jetStream = jetStream
        self.settings = settings
        streamName = prefix.uppercased() + "_OUTBOX"
        subjectPrefix = prefix + ".outbox"
        var stream = EventStreamConfiguration(name: streamName, subjects: [subjectPrefix + ".>"], create: true,
                                              duplicateWindow: settings.duplicateWindow, maxAge: .seconds(7 * 86400), replicas: bucket.replicas)
        stream.workQueue = true
        try jetStream.ensureStream(stream, subscribed: [subjectPrefix + ".>"])
        var sentSettings = bucket
        sentSettings.history = 1
        sentSettings.ttl = settings.sentLogTTL
        let sentLog = try KeyValueBucket(jetStream: jetStream, name: prefix + "_sent", settings: sentSettings)
        let connection = jetStream.connection
        var publish: OutboxDelivery.DeadLetterPublisher?
        if let subject = deadLetterSubject {
            publish = { payload, headers in try connection.publish(subject: subject, payload: payload, headers: headers) }
        }
        delivery = OutboxDelivery(
            notifiers: notifiers, notificationLog: notificationLog, sentLog: KeyValueSentLog(bucket: sentLog), maxDeliver: settings.maxDeliver,
            ackWait: settings.ackWait, deadLetterSubject: deadLetterSubject, publishDeadLetter: publish, logger: logger)
    }

    func subject(_ address: Address) -> String { "\(subjectPrefix).\(address.token)" }

    // MARK: NotificationSink

    public var isDurable: Bool { true }

    /// Stores each notification (blocking calls, on the shared pool) until
    /// one cannot be stored; that one and the rest are left to the caller.
    public func submit(_ notifications: [AlertCore.Notification]) async -> Int {
        guard !notifications.isEmpty else { return 0 }
        let logger = delivery.logger
        return await runBlocking("outbox publish") {
            for (index, notification) in notifications.enumerated() {
                do { try self.publish(notification) } catch {
                    logger.error("could not store notifications in the outbox; holding them and the events for the next attempt", metadata: [
                        "error": .string("\(error)"), "held": .stringConvertible(notifications.count - index),
                    ])
                    return index
                }
            }
            return notifications.count
        }
    }

    /// Runs the integrations' background work (the Alertmanager resenders);
    /// deliveries run on the consumers' worker tasks.
    public func run() async {
        await notifiers.run()
    }

    /// Stops taking messages; a delivery still waiting on a receiver after
    /// `grace` (5 s at most) is handed back to JetStream, for the next
    /// process. Then the integrations stop.
    public func shutdown(grace: Duration) async {
        await stop(grace: min(grace, .seconds(5)))
        await notifiers.shutdown(grace: grace)
    }

    /// Stores one message for the notification's integration (for each
    /// integration of its receiver when it names none) and makes sure each
    /// has a consumer. Blocking (waits for the stream's acks).
    ///
    /// Throws only what a later attempt can cure (NATS unreachable): the
    /// caller then holds this notification and the events behind it. A
    /// notification that can never be stored — it cannot be encoded, or the
    /// server refuses it as too large — is dead-lettered here and the call
    /// returns, so one poison item never blocks the notifications after it.
    func publish(_ notification: AlertCore.Notification) throws(NATSError) {
        let addresses = notifiers.addresses(of: notification.receiver, for: notification)
        guard !addresses.isEmpty else { return }
        let body: Data
        do {
            body = try StateCoding.encoder().encode(notification)
        } catch {
            notificationLog.revert(notification)
            for address in addresses {
                delivery.recordDeadLetter(address, notification, groupKey: notification.groupKey, reason: "unencodable", message: "\(error)", attempts: 0,
                                 payload: Array(notification.groupKey.utf8))
            }
            return
        }
        for address in addresses {
            try ensureConsumer(address)
            do {
                try jetStream.publish(subject: subject(address), payload: [UInt8](body), messageID: "\(notification.id).\(address.token)")
            } catch where error.isMessageTooLarge {
                notificationLog.revert(notification)
                delivery.recordDeadLetter(address, notification, groupKey: notification.groupKey, reason: "too_large",
                                 message: "\(body.count) bytes: \(error)", attempts: 0, payload: Array(notification.groupKey.utf8))
            }
        }
    }

    /// Starts a consumer for every integration of `receivers`, so what an
    /// earlier owner left in the outbox is delivered: called by the instance
    /// that just became the owner (docs/ARCHITECTURE.md, High availability).
    func takeOver(receivers: [String]) throws(NATSError) {
        for receiver in receivers.sorted() {
            for address in notifiers.addresses(of: receiver) { try ensureConsumer(address) }
        }
    }

    /// The address's consumer, created by this process: an existing durable
    /// of that name (an earlier owner's, possibly still bound by a paused
    /// process) is deleted first, so the earlier owner receives nothing more
    /// and its unacknowledged message comes back at once rather than after
    /// `ack_wait`. Only the owner calls this (it publishes, or takes over).
    private func ensureConsumer(_ address: Address) throws(NATSError) {
        if consumers.withLock({ $0[address] != nil }) { return }
        let durable = "outbox_\(address.token.replacingOccurrences(of: ".", with: "_"))"
        try jetStream.deleteConsumer(stream: streamName, durable: durable)
        let worker = OutboxWorker(outbox: self, address: address)
        let consumer: JetStreamConsumer
        do {
            consumer = try JetStreamConsumer(
                jetStream: jetStream, stream: streamName, subject: subject(address),
                consumer: ConsumerConfiguration(durable: durable, ackWait: settings.ackWait, maxDeliver: -1, maxAckPending: 1),
                handler: worker
            )
        } catch {
            worker.finish()
            throw error
        }
        let raced: Bool = consumers.withLock { map in
            if map[address] != nil { return true }
            map[address] = (consumer, worker)
            return false
        }
        if raced {
            try? consumer.drain(timeout: .seconds(1))
            worker.finish()
        }
    }

    /// Stops taking messages; a delivery still waiting on a receiver after
    /// `grace` is handed back to JetStream (redelivered to the next process).
    private func stop(grace: Duration) async {
        let all = consumers.withLock { map in
            defer { map = [:] }
            return Array(map.values)
        }
        await runBlocking("outbox consumer drain") {
            for (consumer, _) in all { try? consumer.drain(timeout: .seconds(2)) }
        }
        for (_, worker) in all { worker.finish() }
        let deadline = ContinuousClock.now.advanced(by: grace)
        for (_, worker) in all { await worker.waitUntilIdle(deadline: deadline) }
    }

    /// Messages waiting in the outbox (all integrations), or nil if unknown.
    func pendingCount() -> Int? {
        try? jetStream.messageCount(stream: streamName)
    }

    /// Delivers one outbox message; called by the address's worker task, one at a time.
    func deliver(_ delivery: JetStreamDelivery, to address: Address) async {
        await self.delivery.deliver(delivery, to: address)
    }
}

/// One integration's outbox consumer: messages arrive on the libnats thread
/// and are delivered, one at a time, by this worker's task.
final class OutboxWorker: JetStreamMessageHandler {
    private let continuation: AsyncStream<JetStreamDelivery>.Continuation
    private let task: Task<Void, Never>

    init(outbox: NotificationOutbox, address: IntegrationAddress) {
        let (stream, continuation) = AsyncStream.makeStream(of: JetStreamDelivery.self)
        self.continuation = continuation
        task = Task.detached {
            for await delivery in stream {
                if Task.isCancelled {
                    delivery.nak(delay: .zero)
                    continue
                }
                await outbox.deliver(delivery, to: address)
            }
        }
    }

    func handle(_ delivery: JetStreamDelivery) {
        continuation.yield(delivery)
    }

    func finish() { continuation.finish() }

    /// Waits for the worker to finish its messages; at `deadline` it is
    /// cancelled (its delivery is handed back to JetStream) and waited for.
    func waitUntilIdle(deadline: ContinuousClock.Instant) async {
        let task = self.task
        let timer = Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            if !Task.isCancelled { task.cancel() }
        }
        await task.value
        timer.cancel()
    }
}

/// Dead-lettered notifications and events, for the metrics.
final class DeadLetterCounts: Sendable {
    struct Key: Hashable, Sendable {
        var receiver: String
        var integration: String
        var reason: String
    }

    private let counts = Mutex<[Key: Int]>([:])

    func record(receiver: String, integration: String, reason: String) {
        counts.withLock { $0[Key(receiver: receiver, integration: integration, reason: reason), default: 0] += 1 }
    }

    var snapshot: [Key: Int] { counts.withLock { $0 } }
}

extension IntegrationAddress {
    /// NATS subject token / KV key token for the receiver name.
    var receiverToken: String { receiver.utf8.map { String(format: "%02x", $0) }.joined() }
    /// `<receiver hex>.<kind>.<index>`: the outbox subject's tail and the sent log's key prefix.
    var token: String { "\(receiverToken).\(kind).\(index)" }
}
