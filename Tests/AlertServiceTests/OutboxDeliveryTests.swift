import AlertCore
import AlertIngest
@testable import AlertNotify
@testable import AlertService
import AlertTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// An outbox message: records what delivery did with it.
struct FakeOutboxMessage: OutboxMessage {
    let body: Data
    var deliveryCount: UInt64 = 1
    let happenings: Happenings
    func ack() { happenings.add("ack") }
    func term() { happenings.add("term") }
    func nak(delay: Duration) { happenings.add("nak") }
    func inProgress() { happenings.add("in progress") }
}

/// The sent log, with writes that can fail like KV during a server restart.
final class FakeSentLog: SentLog {
    let happenings: Happenings
    let keys = Mutex<Set<String>>([])
    /// Writes to refuse before accepting.
    let failingWrites = Atomic<Int>(0)

    init(_ happenings: Happenings) { self.happenings = happenings }

    func contains(_ key: String) throws -> Bool { keys.withLock { $0.contains(key) } }

    func record(_ key: String) throws {
        if failingWrites.load(ordering: .relaxed) > 0 {
            failingWrites.subtract(1, ordering: .relaxed)
            happenings.add("sent-log write refused")
            throw NATSError(operation: "KV put", message: "no responders")
        }
        happenings.add("sent-log write")
        keys.withLock { _ = $0.insert(key) }
    }
}

/// An integration whose answers are scripted: each send takes the next one
/// (nil: accepted); past the script, every send is accepted.
final class ScriptedIntegration: Integration {
    let happenings: Happenings
    private let answers: Mutex<[NotifyError?]>
    var kind: String { "webhook" }
    var sendResolved: Bool { true }

    init(_ happenings: Happenings, answers: [NotifyError?] = []) {
        self.happenings = happenings
        self.answers = Mutex(answers)
    }

    func send(_ notification: AlertCore.Notification) async throws(NotifyError) {
        happenings.add("send")
        let answer: NotifyError?? = answers.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        if case .some(.some(let error)) = answer { throw error }
    }
}

/// The outbox's delivery path in-process: a fake message, sent log and
/// dead-letter subject, real `Notifiers` with a scripted integration.
@Suite("Outbox delivery: sent log before ack, dead letters with their reason, the notification log put back")
struct OutboxDeliveryTests {
    let happenings = Happenings()
    let address = IntegrationAddress(receiver: "team", kind: "webhook", index: 0)
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func fixture(answers: [NotifyError?] = [], maxDeliver: Int = 5) -> (OutboxDelivery, Notifiers, FakeSentLog, NotificationLog, DeadLetterBox) {
        let notifiers = Notifiers(logger: logger, lookup: { _ in nil })
        notifiers.configure(integrations: ["team": [(ScriptedIntegration(happenings, answers: answers), 0)]],
                            retryPolicy: RetryPolicy(initialDelay: .milliseconds(10), deadline: .seconds(5)))
        let sentLog = FakeSentLog(happenings)
        let log = NotificationLog()
        let box = DeadLetterBox()
        var delivery = OutboxDelivery(notifiers: notifiers, notificationLog: log, sentLog: sentLog, maxDeliver: maxDeliver, ackWait: .seconds(30),
                                      deadLetterSubject: "alerts.dead", publishDeadLetter: { payload, headers in box.add(headers) }, logger: logger)
        delivery.sentLogPatience = .seconds(30)
        return (delivery, notifiers, sentLog, log, box)
    }

    /// A notification decided against nothing, with its log entry written as the engine writes it.
    func decided(_ log: NotificationLog) -> (AlertCore.Notification, FakeOutboxMessage) {
        let notification = makeNotification(receiver: "team", firing: [AlertEvent(alertType: "disk_full", subject: "system.x")])
        log.log(receiver: notification.receiver, groupKey: notification.groupKey, firing: Set(notification.firing.map(\.alert.fingerprint)),
                resolved: [], at: notification.timestamp)
        let body = try! StateCoding.encoder().encode(notification)
        return (notification, FakeOutboxMessage(body: body, happenings: happenings))
    }

    @Test("a delivered notification is written to the sent log before its message is acked")
    func sentLogBeforeAck() async {
        let (delivery, notifiers, sentLog, log, _) = fixture()
        let (notification, message) = decided(log)
        await delivery.deliver(message, to: address)
        #expect(happenings.all == ["send", "sent-log write", "ack"])
        #expect(sentLog.keys.withLock { $0 } == ["\(address.token).\(notification.id)"])
        await notifiers.shutdown(grace: .zero)
    }

    @Test("a redelivered message whose notification is in the sent log is acked without sending again")
    func sentBeforeNotSentAgain() async {
        let (delivery, notifiers, _, log, _) = fixture()
        let (_, message) = decided(log)
        await delivery.deliver(message, to: address)
        happenings.clear()
        await delivery.deliver(message, to: address)
        #expect(happenings.all == ["ack"])
        await notifiers.shutdown(grace: .zero)
    }

    @Test("the sent log unreachable after the send: the write is retried, the message kept ours, and acked only once written")
    func sentLogRetried() async {
        let (delivery, notifiers, sentLog, log, _) = fixture()
        sentLog.failingWrites.store(2, ordering: .relaxed)
        let (_, message) = decided(log)
        await delivery.deliver(message, to: address)
        #expect(happenings.all == ["send", "sent-log write refused", "in progress", "sent-log write refused", "in progress", "sent-log write", "ack"])
        await notifiers.shutdown(grace: .zero)
    }

    @Test("a permanent failure is dead-lettered with its reason, terminated, and the notification log put back so the next flush decides again")
    func permanentFailure() async {
        let (delivery, notifiers, sentLog, log, box) = fixture(answers: [NotifyError(.permanent, reason: "http_4xx", message: "HTTP 400")])
        let (notification, message) = decided(log)
        await delivery.deliver(message, to: address)
        #expect(happenings.all == ["send", "term"])
        #expect(sentLog.keys.withLock { $0 }.isEmpty)
        #expect(log.entry(receiver: "team", groupKey: notification.groupKey) == nil)
        let headers = Dictionary(box.all.first ?? [], uniquingKeysWith: { $1 })
        #expect(headers["Nats-Alerter-Notify-Reason"] == "http_4xx")
        #expect(headers["Nats-Alerter-Integration"] == "webhook[0]")
        #expect(delivery.deadLetters.snapshot.values.reduce(0, +) == 1)
        // The history answers "did it go out?": failed, then dead-lettered, under the id receivers see.
        let history = notifiers.history.recent(receiver: "team")
        #expect(history.map(\.outcome) == [.deadLettered, .failed])
        #expect(history.allSatisfy { $0.notificationID == notification.id && $0.integration == "webhook/0" && $0.reason == "http_4xx" })
        await notifiers.shutdown(grace: .zero)
    }

    @Test("a transient failure is retried in process with the message held in progress, then delivered")
    func transientRetried() async {
        let (delivery, notifiers, _, log, _) = fixture(answers: [NotifyError(.retryable, reason: "http_5xx", message: "HTTP 503")])
        let (_, message) = decided(log)
        await delivery.deliver(message, to: address)
        #expect(happenings.all.filter { $0 != "in progress" } == ["send", "send", "sent-log write", "ack"])
        let history = notifiers.history.recent()
        #expect(history.map(\.outcome) == [.sent, .retrying])
        #expect(history.last?.nextAttemptAt != nil && history.last?.reason == "http_5xx" && history.first?.attempts == 2)
        await notifiers.shutdown(grace: .zero)
    }

    @Test("past max_deliver, undecodable, or for an integration no longer configured: dead-lettered without a send")
    func givenUpWithoutSend() async {
        let (delivery, notifiers, _, log, box) = fixture(maxDeliver: 3)
        var (_, message) = decided(log)
        message.deliveryCount = 4
        await delivery.deliver(message, to: address)
        await delivery.deliver(FakeOutboxMessage(body: Data("{not json".utf8), happenings: happenings), to: address)
        let (_, fresh) = decided(log)
        await delivery.deliver(fresh, to: IntegrationAddress(receiver: "team", kind: "slack", index: 0))
        #expect(happenings.all == ["term", "term", "term"])
        #expect(box.all.map { Dictionary($0, uniquingKeysWith: { $1 })["Nats-Alerter-Notify-Reason"] } == ["max_deliver", "undecodable", "receiver_removed"])
        await notifiers.shutdown(grace: .zero)
    }
}

/// Headers of what was republished to the dead-letter subject.
final class DeadLetterBox: Sendable {
    private let published = Mutex<[[(String, String)]]>([])
    func add(_ headers: [(String, String)]) { published.withLock { $0.append(headers) } }
    var all: [[(String, String)]] { published.withLock { $0 } }
}
