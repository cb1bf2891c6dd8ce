public import AlertCore
public import AlertIngest
public import AlertNotify
public import Foundation
public import Logging
import Synchronization

/// Publishes state-change events on `<prefix>.events.…`
/// (docs/ARCHITECTURE.md, Control plane): alert firing and resolved from the
/// engine loop's transitions and resolve timeouts, silenced at firing when a
/// silence already mutes the new alert, silenced and unsilenced from silence writes
/// (`MuteChange`), notification outcomes from `NotificationHistory`.
///
/// Never blocks its caller: libnats' publish copies the message into the
/// connection's outgoing buffer and returns (while disconnected, into the
/// reconnect buffer); a publish libnats refuses is counted in
/// `failures` and logged at most every 10 s, never retried.
/// Thread-safe.
public final class StateEventPublisher: Sendable {
    private let connection: NATSConnection
    private let silencer: Silencer
    public let prefix: String
    public let format: AlerterConfig.ControlSection.EventFormat
    private let logger: Logger
    private let failureCount = Atomic<Int>(0)
    private let publishedCount = Atomic<Int>(0)
    private let failureLog = LogInterval(.seconds(10))

    public init(connection: NATSConnection, silencer: Silencer, settings: AlerterConfig.ControlSection, logger: Logger) {
        self.connection = connection
        self.silencer = silencer
        self.prefix = settings.prefix
        self.format = settings.eventFormat
        self.logger = logger
    }

    /// Events libnats refused to buffer (`nats_alerter_control_event_publish_failures_total`).
    public var failures: Int { failureCount.load(ordering: .relaxed) }
    /// Events handed to libnats.
    public var published: Int { publishedCount.load(ordering: .relaxed) }

    /// `firing` for each new alert (then `silenced` when a silence mutes it
    /// from the start), `resolved` for each ended one, in the batch's order.
    public func publish(_ transitions: [AlertTransition], at now: Date) {
        for transition in transitions {
            switch transition {
            case .fired(let alert):
                publish(alert, change: .firing, at: now)
                let mutedBy = silencer.mutes(alert.labels, at: now)
                if !mutedBy.isEmpty { publish(alert, change: .silenced, silencedBy: mutedBy, at: now) }
            case .resolved(let alert): publish(alert, change: .resolved, at: now)
            default: continue
            }
        }
    }

    public func publish(_ alert: Alert, change: AlertStateEvent.Change, silencedBy: [String] = [], at now: Date) {
        let event = AlertStateEvent(change: change, fingerprint: alert.fingerprint.description, labels: alert.labels.dictionary,
                                    startsAtUnixMs: Self.unixMs(alert.startsAt), endsAtUnixMs: alert.endsAt.map(Self.unixMs) ?? 0,
                                    silencedBy: silencedBy, observedAtUnixMs: Self.unixMs(now))
        let payload = format == .json ? StateEventEncoder.json(event) : StateEventEncoder.protobuf(event)
        send("\(prefix).events.alert.\(change.rawValue)", payload)
    }

    /// `sent`, `failed` or `dead_lettered` for a notification outcome; a retry is no event.
    public func publish(_ entry: NotificationHistory.Entry) {
        let outcome: NotificationStateEvent.Outcome
        switch entry.outcome {
        case .sent: outcome = .sent
        case .failed: outcome = .failed
        case .deadLettered: outcome = .deadLettered
        case .retrying: return
        }
        let event = NotificationStateEvent(outcome: outcome, notificationID: entry.notificationID, receiver: entry.receiver,
                                           integration: entry.integration, groupKey: entry.groupKey,
                                           fingerprints: entry.fingerprints.map(\.description),
                                           firing: Int32(clamping: entry.firing), resolved: Int32(clamping: entry.resolved),
                                           attempts: Int32(clamping: entry.attempts), reason: entry.reason ?? "", error: entry.error ?? "",
                                           observedAtUnixMs: Self.unixMs(entry.at))
        let payload = format == .json ? StateEventEncoder.json(event) : StateEventEncoder.protobuf(event)
        send("\(prefix).events.notification.\(outcome.rawValue)", payload)
    }

    private func send(_ subject: String, _ payload: [UInt8]) {
        let headers = format == .json ? [("Content-Type", "application/json")] : [("Content-Type", "application/protobuf")]
        do {
            try connection.publish(subject: subject, payload: payload, headers: headers)
            publishedCount.add(1, ordering: .relaxed)
        } catch {
            failureCount.add(1, ordering: .relaxed)
            if failureLog.admit() {
                logger.warning("state-change event not published", metadata: ["subject": .string(subject), "error": .string("\(error)")])
            }
        }
    }

    static func unixMs(_ date: Date) -> Int64 {
        Int64(clamping: Int64(exactly: (date.timeIntervalSince1970 * 1000).rounded(.down)) ?? 0)
    }
}
