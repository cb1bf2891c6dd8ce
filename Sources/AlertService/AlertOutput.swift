public import AlertCore
public import Logging
import Foundation

/// Turns alert transitions into one structured log line each — the service's
/// output until notifiers are configured. A firing line carries everything a
/// person needs to act; a resolve line says how long it fired and how often
/// it was reported.
public struct AlertOutput: Sendable {
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func emit(_ transition: AlertTransition) {
        switch transition {
        case .fired(let alert):
            logger.notice("alert firing", metadata: metadata(for: alert, event: "alert_firing"))
        case .resolved(let alert):
            logger.notice("alert resolved", metadata: metadata(for: alert, event: "alert_resolved"))
        case .refusedAtCapacity(let fingerprint):
            logger.error("alert refused: the active-alert limit (state.max_active_alerts) is reached", metadata: [
                "event": "alert_refused", "fingerprint": .string(fingerprint.description),
            ])
        case .duplicate, .resolveOfUnknown, .staleFiring:
            break
        }
    }

    /// One line per notification (per integration of its receiver, named in
    /// `integration`), until notifiers deliver them.
    public func emit(_ notification: AlertCore.Notification) {
        // The line lists every alert: not built when the level drops it (a
        // flush of a million alerts would build a million dictionaries).
        guard logger.logLevel <= .notice else { return }
        var metadata: Logger.Metadata = [
            "event": "notification",
            "receiver": .string(notification.receiver),
            "group_key": .string(notification.groupKey),
            "group_labels": .dictionary(notification.groupLabels.dictionary.mapValues { .string($0) }),
            "firing": .array(notification.firing.map { .dictionary(alertFields($0)) }),
        ]
        if let integration = notification.integration { metadata["integration"] = .string(integration) }
        if notification.sendResolved {
            metadata["resolved"] = .array(notification.resolved.map { .dictionary(alertFields($0)) })
        }
        logger.notice("notification", metadata: metadata)
    }

    private func alertFields(_ notified: NotifiedAlert) -> Logger.Metadata {
        var fields = metadata(for: notified.alert, event: nil)
        if !notified.silencedBy.isEmpty { fields["silenced_by"] = .array(notified.silencedBy.map { .string($0) }) }
        if !notified.inhibitedBy.isEmpty { fields["inhibited_by"] = .array(notified.inhibitedBy.map { .string($0.description) }) }
        return fields
    }

    func metadata(for alert: Alert, event: String?) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "fingerprint": .string(alert.fingerprint.description),
            "labels": .dictionary(alert.labels.dictionary.mapValues { .string($0) }),
            "starts_at": .string(Self.format(alert.startsAt)),
            "repeat_count": .stringConvertible(alert.repeatCount),
        ]
        if let event { metadata["event"] = .string(event) }
        if !alert.annotations.isEmpty {
            metadata["annotations"] = .dictionary(alert.annotations.dictionary.mapValues { .string($0) })
        }
        if let endsAt = alert.endsAt { metadata["ends_at"] = .string(Self.format(endsAt)) }
        if !alert.generatorURL.isEmpty { metadata["generator_url"] = .string(alert.generatorURL) }
        if let value = alert.currentValue { metadata["current_value"] = .stringConvertible(value) }
        if let value = alert.thresholdValue { metadata["threshold_value"] = .stringConvertible(value) }
        if let value = alert.iteration { metadata["iteration"] = .stringConvertible(value) }
        return metadata
    }

    static func format(_ date: Date) -> String {
        date.rfc3339Milliseconds
    }
}
