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
        case .duplicate, .resolveOfUnknown:
            break
        }
    }

    func metadata(for alert: Alert, event: String) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "event": .string(event),
            "fingerprint": .string(alert.fingerprint.description),
            "labels": .dictionary(alert.labels.dictionary.mapValues { .string($0) }),
            "starts_at": .string(Self.format(alert.startsAt)),
            "repeat_count": .stringConvertible(alert.repeatCount),
        ]
        if !alert.annotations.isEmpty {
            metadata["annotations"] = .dictionary(alert.annotations.mapValues { .string($0) })
        }
        if let endsAt = alert.endsAt { metadata["ends_at"] = .string(Self.format(endsAt)) }
        if !alert.generatorURL.isEmpty { metadata["generator_url"] = .string(alert.generatorURL) }
        if let value = alert.currentValue { metadata["current_value"] = .stringConvertible(value) }
        if let value = alert.thresholdValue { metadata["threshold_value"] = .stringConvertible(value) }
        if let value = alert.iteration { metadata["iteration"] = .stringConvertible(value) }
        return metadata
    }

    static func format(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: true).timeSeparator(.colon).timeZone(separator: .omitted))
    }
}
