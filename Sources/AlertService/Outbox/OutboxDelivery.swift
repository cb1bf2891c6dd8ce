import AlertCore
import AlertIngest
import AlertNotify
import Foundation
import Logging

/// A message of the outbox stream as delivery sees it: a `JetStreamDelivery`
/// in the service, a fake in tests.
protocol OutboxMessage: Sendable {
    var body: Data { get }
    /// 1 on the first delivery.
    var deliveryCount: UInt64 { get }
    func ack()
    func term()
    func nak(delay: Duration)
    /// Tells the server the message is still being worked on (`+WPI`).
    func inProgress()
}

extension JetStreamDelivery: OutboxMessage {
    var body: Data { Data(payload) }
}

/// What was sent, by `<integration token>.<notification id>`: the KV bucket
/// `<prefix>_sent` in the service. Calls block (run them on the pool).
protocol SentLog: Sendable {
    func contains(_ key: String) throws -> Bool
    func record(_ key: String) throws
}

struct KeyValueSentLog: SentLog {
    let bucket: KeyValueBucket
    func contains(_ key: String) throws -> Bool { try bucket.revision(of: key) != nil }
    func record(_ key: String) throws { try bucket.put(key, [1]) }
}

/// Delivers one outbox message to its integration (docs/ARCHITECTURE.md,
/// Durability, step 4): the sent log is checked first; the message is sent
/// through `Notifiers` with the retry policy, held with `+WPI` meanwhile;
/// the sent log is written; then the message is acked. A message given up
/// on is dead-lettered (counted, logged, republished with reason headers if
/// a subject is configured) and terminated, and its notification-log entry
/// is put back so the next flush decides again.
struct OutboxDelivery: Sendable {
    /// Publishes a given-up notification with its reason headers.
    typealias DeadLetterPublisher = @Sendable (_ payload: [UInt8], _ headers: [(String, String)]) throws -> Void

    let notifiers: Notifiers
    let notificationLog: NotificationLog
    let sentLog: any SentLog
    let maxDeliver: Int
    let ackWait: Duration
    let deadLetterSubject: String?
    let publishDeadLetter: DeadLetterPublisher?
    let logger: Logger
    let deadLetters = DeadLetterCounts()
    /// How long a failing sent-log write is retried (a NATS restart) before
    /// the message is acked without it.
    var sentLogPatience: Duration = .seconds(120)

    func deliver(_ message: some OutboxMessage, to address: IntegrationAddress) async {
        let notification: AlertCore.Notification
        do {
            notification = try StateCoding.decoder().decode(AlertCore.Notification.self, from: message.body)
        } catch {
            deadLetter(message, address, groupKey: nil, reason: "undecodable", message: "\(error)", attempts: 0)
            return
        }
        let key = "\(address.token).\(notification.id)"
        let sentLog = self.sentLog
        let sentBefore = await runBlocking("sent-log read") { () -> Bool in (try? sentLog.contains(key)) ?? false }
        if sentBefore {
            logger.info("outbox: notification already sent; not sending again", metadata: [
                "receiver": .string(address.receiver), "integration": .string(address.label), "group_key": .string(notification.groupKey),
            ])
            message.ack()
            return
        }
        let deliveries = Int(message.deliveryCount)
        if deliveries > maxDeliver {
            notificationLog.revert(notification)
            deadLetter(message, address, notification, groupKey: notification.groupKey, reason: "max_deliver",
                       message: "delivered \(deliveries) times without success", attempts: deliveries - 1)
            return
        }
        let generation = notifiers.generation
        let heartbeat = max(.seconds(1), ackWait / 3)
        let outcome = await notifiers.deliver(notification, to: address, heartbeatInterval: heartbeat) { message.inProgress() }
        switch outcome {
        case nil:
            notificationLog.revert(notification)
            deadLetter(message, address, notification, groupKey: notification.groupKey, reason: "receiver_removed",
                       message: "the configuration no longer has this integration", attempts: 0)
        case .delivered:
            await recordSent(key, address: address, message: message)
            message.ack()
        case .failed(_, _, _, cancelled: true):
            message.nak(delay: .zero)
        case .failed(let reason, let text, let attempts, cancelled: false):
            if notifiers.generation != generation {
                // The configuration was reloaded under this delivery: try again with the new integration.
                message.nak(delay: .zero)
                return
            }
            // Given up: the next flush decides again (Alertmanager's log is written only after a successful send).
            notificationLog.revert(notification)
            deadLetter(message, address, notification, groupKey: notification.groupKey, reason: reason, message: text, attempts: attempts)
        }
    }

    /// Writes the sent log, retrying while NATS is unreachable (a server
    /// restart): acking without it would let a redelivery send again.
    private func recordSent(_ key: String, address: IntegrationAddress, message: some OutboxMessage) async {
        let sentLog = self.sentLog
        let clock = ContinuousClock()
        let giveUp = clock.now.advanced(by: sentLogPatience)
        var wait = Duration.milliseconds(100)
        while true {
            let failure = await runBlocking("sent-log write") { () -> String? in
                do { try sentLog.record(key) } catch { return "\(error)" }
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
            message.inProgress()
        }
    }

    private func deadLetter(_ message: some OutboxMessage, _ address: IntegrationAddress, _ notification: AlertCore.Notification? = nil,
                            groupKey: String?, reason: String, message text: String, attempts: Int) {
        recordDeadLetter(address, notification, groupKey: groupKey, reason: reason, message: text, attempts: attempts, payload: [UInt8](message.body))
        message.term()
    }

    /// Counts, logs and (if configured) republishes a notification given up on.
    func recordDeadLetter(_ address: IntegrationAddress, _ notification: AlertCore.Notification?, groupKey: String?, reason: String, message: String,
                          attempts: Int, payload: [UInt8]) {
        deadLetters.record(receiver: address.receiver, integration: address.kind, reason: reason)
        if let notification {
            notifiers.history.record(NotificationHistory.Entry(notification, integration: address.name, outcome: .deadLettered, attempts: attempts,
                                                               at: Date(), reason: reason, error: message))
        }
        logger.error("notification dead-lettered", metadata: [
            "receiver": .string(address.receiver), "integration": .string(address.label), "group_key": .string(groupKey ?? "?"),
            "reason": .string(reason), "error": .string(message), "attempts": .stringConvertible(attempts),
            "dead_letter_subject": .string(deadLetterSubject ?? "(none configured)"),
        ])
        guard let publishDeadLetter else { return }
        do {
            try publishDeadLetter(payload, [
                ("Nats-Alerter-Notify-Reason", reason), ("Nats-Alerter-Receiver", address.receiver),
                ("Nats-Alerter-Integration", address.label), ("Nats-Alerter-Notify-Error", NATSIngest.headerValue(message)),
            ])
        } catch {
            logger.error("could not publish to the dead-letter subject", metadata: [
                "subject": .string(deadLetterSubject ?? ""), "error": .string("\(error)"),
            ])
        }
    }
}
