public import AlertCore
import Foundation

/// `webhook_configs`: posts Alertmanager's webhook payload, version 4, so
/// anything that consumes Alertmanager webhooks consumes these.
public struct WebhookNotifier: Integration {
    public let configuration: WebhookConfiguration
    public let poster: HTTPPoster
    public let externalURL: String
    public var kind: String { "webhook" }
    public static let notificationIDHeader = "X-Nats-Alerter-Notification-Id"
    public var sendResolved: Bool { configuration.sendResolved }

    public init(configuration: WebhookConfiguration, poster: HTTPPoster, externalURL: String = "") {
        self.configuration = configuration
        self.poster = poster
        self.externalURL = externalURL
    }

    public func send(_ notification: AlertCore.Notification) async throws(NotifyError) {
        guard let payload = Self.payload(notification, configuration: configuration, externalURL: externalURL) else { return }
        // The decision's id: the same on a redelivery after a crash, so a
        // receiver can drop the copy (the one duplicate the outbox cannot rule out).
        try await poster.post(try configuration.url.value(), json: payload, headers: [(Self.notificationIDHeader, notification.id)],
                              timeout: configuration.timeout, what: "webhook")
    }

    /// The version 4 payload; nil when nothing is left to send.
    static func payload(_ notification: AlertCore.Notification, configuration: WebhookConfiguration, externalURL: String) -> Data? {
        var alerts = notification.firing + (configuration.sendResolved ? notification.resolved : [])
        guard !notification.firing.isEmpty || (configuration.sendResolved && !notification.resolved.isEmpty) else { return nil }
        var truncated = 0
        if configuration.maxAlerts > 0 && alerts.count > configuration.maxAlerts {
            truncated = alerts.count - configuration.maxAlerts
            alerts = Array(alerts.prefix(configuration.maxAlerts))
        }
        let sent = alerts.map(\.alert)
        let object: [String: Any] = [
            "version": "4",
            "groupKey": notification.groupKey,
            "truncatedAlerts": truncated,
            "status": notification.firing.isEmpty ? "resolved" : "firing",
            "receiver": notification.receiver,
            "groupLabels": notification.groupLabels.dictionary,
            "commonLabels": notification.commonLabels.dictionary,
            "commonAnnotations": TemplateData.commonAnnotations(sent),
            "externalURL": externalURL,
            "alerts": sent.map(alertObject),
        ]
        return try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    static func alertObject(_ alert: Alert) -> [String: Any] {
        [
            "status": alert.isFiring ? "firing" : "resolved",
            "labels": alert.labels.dictionary,
            "annotations": alert.annotations.dictionary,
            "startsAt": timestamp(alert.startsAt),
            "endsAt": alert.endsAt.map(timestamp) ?? "0001-01-01T00:00:00Z",
            "generatorURL": alert.generatorURL,
            "fingerprint": alert.fingerprint.description,
        ]
    }

    static func timestamp(_ date: Date) -> String {
        date.rfc3339Milliseconds
    }
}
