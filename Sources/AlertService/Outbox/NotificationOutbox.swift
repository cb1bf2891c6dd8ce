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
    private let sentLog: KeyValueBucket
    private let settings: Settings
    private let deadLetterSubject: String?
    private let notifiers: Notifiers
    private let notificationLog: NotificationLog
    private let logger: Logger
    private let consumers = Mutex<[Address: (consumer: JetStreamConsumer, worker: OutboxWorker)]>([:])
    let deadLetters = DeadLetterCounts()

    /// - Parameters:
    ///   - notifiers: delivers each message (and says which integrations a receiver has).
    ///   - notificationLog: a notification given up on is taken out of it,
    ///     so the next flush decides again.
    init(notifiers: Notifiers, notificationLog: NotificationLog, jetStream: JetStream, prefix: String, bucket: KeyValueBucket.Settings,
         settings: Settings, deadLetterSubject: String?, logger: Logger) throws(NATSError) {
        self.notifiers = notifiers
        self.notificationLog = notificationLog
        self.jetStream = jetStream
        self.logger = logger
        self.settings = settings
        self.deadLetterSubject = deadLetterSubject
        streamName = prefix.uppercased() + "_OUTBOX"
        subjectPrefix = prefix + ".outbox"
        var stream = EventStreamConfiguration(name: streamName, subjects: [subjectPrefix + ".>"], create: true,
                                              duplicateWindow: settings.duplicateWindow, maxAge: .seconds(7 * 86400), replicas: bucket.replicas)
        stream.workQueue = true
        try jetStream.ensureStream(stream, subscribed: [subjectPrefix + ".>"])
        var sentSettings = bucket
        sentSettings.history = 1
        sentSettings.ttl = settings.sentLogTTL
        sentLog = try KeyValueBucket(jetStream: jetStream, name: prefix + "_sent", settings: sentSettings)
    }

    func subject(_ address: Address) -> String { "\(subjectPrefix).\(address.token)" }

    // MARK: NotificationSink

    public var isDurable: Bool { true }

    /// Stores each notification (blocking calls, on the shared pool) until
    /// one cannot be stored; that one and the rest are left to the caller.
    public func submit(_ notifications: [AlertCore.Notification]) async -> Int {
        guard !notifications.isEmpty else { return 0 }
        let logger = self.logger
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
                recordDeadLetter(address, groupKey: notification.groupKey, reason: "unencodable", message: "\(error)", attempts: 0,
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
                recordDeadLetter(address, groupKey: notification.groupKey, reason: "too_large",
                                 message: "\(body.count) bytes: \(error)", attempts: 0, payload: Array(notification.groupKey.utf8))
            }
        }
    }

    /// Starts a consumer for every integration of `receivers` (at start, to
    /// deliver what a previous process left in the outbox).
    func start(receivers: [String]) throws(NATSError) {
        for receiver in receivers.sorted() {
            for address in notifiers.addresses(of: receiver) { try ensureConsumer(address) }
        }
    }

    private func ensureConsumer(_ address: Address) throws(NATSError) {
        if consumers.withLock({ $0[address] != nil }) { return }
        let worker = OutboxWorker(outbox: self, address: address)
        let consumer: JetStreamConsumer
        do {
            consumer = try JetStreamConsumer(
                jetStream: jetStream, stream: streamName, subject: subject(address),
                consumer: ConsumerConfiguration(durable: "outbox_\(address.token.replacingOccurrences(of: ".", with: "_"))",
                                                ackWait: settings.ackWait, maxDeliver: -1, maxAckPending: 1),
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
        let notification: AlertCore.Notification
        do {
            notification = try StateCoding.decoder().decode(AlertCore.Notification.self, from: Data(delivery.payload))
        } catch {
            deadLetter(delivery, address, groupKey: nil, reason: "undecodable", message: "\(error)", attempts: 0)
            return
        }
        let key = "\(address.token).\(notification.id)"
        let sentLog = self.sentLog
        let sentBefore = await runBlocking("sent-log read") { () -> Bool in (try? sentLog.revision(of: key)) ?? nil != nil }
        if sentBefore {
            logger.info("outbox: notification already sent; not sending again", metadata: [
                "receiver": .string(address.receiver), "integration": .string(address.label), "group_key": .string(notification.groupKey),
            ])
            delivery.ack()
            return
        }
        let deliveries = Int(delivery.deliveryCount)
        if deliveries > settings.maxDeliver {
            notificationLog.revert(notification)
            deadLetter(delivery, address, groupKey: notification.groupKey, reason: "max_deliver",
                       message: "delivered \(deliveries) times without success", attempts: deliveries - 1)
            return
        }
        let generation = notifiers.generation
        let heartbeat = max(.seconds(1), settings.ackWait / 3)
        let outcome = await notifiers.deliver(notification, to: address, heartbeatInterval: heartbeat) { delivery.inProgress() }
        switch outcome {
        case nil:
            notificationLog.revert(notification)
            deadLetter(delivery, address, groupKey: notification.groupKey, reason: "receiver_removed",
                       message: "the configuration no longer has this integration", attempts: 0)
        case .delivered:
            await recordSent(key, address: address, delivery: delivery)
            delivery.ack()
        case .failed(_, _, _, cancelled: true):
            delivery.nak(delay: .zero)
        case .failed(let reason, let message, let attempts, cancelled: false):
            if notifiers.generation != generation {
                // The configuration was reloaded under this delivery: try again with the new integration.
                delivery.nak(delay: .zero)
                return
            }
            // Given up: the next flush decides again (Alertmanager's log is written only after a successful send).
            notificationLog.revert(notification)
            deadLetter(delivery, address, groupKey: notification.groupKey, reason: reason, message: message, attempts: attempts)
        }
    }

    /// Writes the sent log, retrying while NATS is unreachable (a server
    /// restart): acking without it would let a redelivery send again.
    private func recordSent(_ key: String, address: Address, delivery: JetStreamDelivery) async {
        let sentLog = self.sentLog
        let clock = ContinuousClock()
        let giveUp = clock.now.advanced(by: .seconds(120))
        var wait = Duration.milliseconds(100)
        while true {
            let failure = await runBlocking("sent-log write") { () -> String? in
                do { try sentLog.put(key, [1]) } catch { return "\(error)" }
                return nil
            }
            guard let failure else { return }
            if clock.now > giveUp || Task.isCancelled {
                logger.error("outbox: could not record a sent notification; a redelivery would send it again", metadata: [
                    "receiver": .string(address.receiver), "integration": .string(address.label), "error": .string(failure),
                ])
                return
            }
            try? await Task.sleep(for: wait)
            wait = min(wait * 2, .seconds(2))
            delivery.inProgress()
        }
    }

    private func deadLetter(_ delivery: JetStreamDelivery, _ address: Address, groupKey: String?, reason: String, message: String, attempts: Int) {
        recordDeadLetter(address, groupKey: groupKey, reason: reason, message: message, attempts: attempts, payload: [UInt8](delivery.payload))
        delivery.term()
    }

    /// Counts, logs and (if configured) republishes a notification given up on.
    private func recordDeadLetter(_ address: Address, groupKey: String?, reason: String, message: String, attempts: Int, payload: [UInt8]) {
        deadLetters.record(receiver: address.receiver, integration: address.kind, reason: reason)
        logger.error("notification dead-lettered", metadata: [
            "receiver": .string(address.receiver), "integration": .string(address.label), "group_key": .string(groupKey ?? "?"),
            "reason": .string(reason), "error": .string(message), "attempts": .stringConvertible(attempts),
            "dead_letter_subject": .string(deadLetterSubject ?? "(none configured)"),
        ])
        if let subject = deadLetterSubject {
            do {
                try jetStream.connection.publish(subject: subject, payload: payload, headers: [
                    ("Nats-Alerter-Notify-Reason", reason), ("Nats-Alerter-Receiver", address.receiver),
                    ("Nats-Alerter-Integration", address.label),
                    ("Nats-Alerter-Notify-Error", NATSIngest.headerValue(message)),
                ])
            } catch {
                logger.error("could not publish to the dead-letter subject", metadata: ["subject": .string(subject), "error": .string("\(error)")])
            }
        }
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
