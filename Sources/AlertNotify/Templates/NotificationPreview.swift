public import AlertCore
import Foundation

/// What each integration of a receiver would send for a notification,
/// rendered without sending anything (`nats-alerter template render`).
public enum NotificationPreview {
    public static func render(
        receiver: ReceiverConfiguration, notification: AlertCore.Notification, templates: TemplateLibrary, externalURL: String = ""
    ) throws(NotifyError) -> String {
        var sections: [String] = []
        let now = Date()
        func template(_ source: String, _ format: TemplateFormat, _ data: [String: Any]) throws(NotifyError) -> String {
            do { return try templates.render(source, format: format, data: data) } catch {
                throw NotifyError(.permanent, reason: "template", message: "\(error)")
            }
        }
        for (index, config) in receiver.slack.enumerated() {
            var part = notification
            if !config.sendResolved { part.resolved = [] }
            let notifier = SlackNotifier(configuration: config, templates: templates, poster: nil, externalURL: externalURL)
            let body = try notifier.message(for: part, now: now)
            sections.append("=== slack_configs[\(index)] (POST to the webhook URL)\n" + pretty(body))
        }
        for (index, config) in receiver.email.enumerated() {
            var part = notification
            if !config.sendResolved { part.resolved = [] }
            let data = TemplateData(part, externalURL: externalURL, now: now).context
            let subject = try template(config.headers["Subject"] ?? "{{> email.subject}}", .text, data)
            sections.append("""
                === email_configs[\(index)]
                To: \(try template(config.to, .text, data))
                From: \(config.from)
                Subject: \(subject)

                --- text/plain
                \(try template(config.text, .text, data))
                --- text/html
                \(try template(config.html, .html, data))
                """)
        }
        for (index, config) in receiver.webhook.enumerated() {
            let body = WebhookNotifier.payload(notification, configuration: config, externalURL: externalURL) ?? Data("(nothing to send)".utf8)
            sections.append("=== webhook_configs[\(index)]\n" + pretty(body))
        }
        for (index, config) in receiver.alertmanager.enumerated() {
            let alerts = notification.firing.map(\.alert) + (config.sendResolved ? notification.resolved.map(\.alert) : [])
            let body = AlertmanagerNotifier.body(alerts, now: now, resendInterval: config.resendInterval)
            sections.append("=== alertmanager_configs[\(index)] (POST /api/v2/alerts to \(config.urls.joined(separator: ", ")))\n" + pretty(body))
        }
        if sections.isEmpty { sections.append("receiver \(receiver.name) has no integrations: its notifications are only logged") }
        return sections.joined(separator: "\n\n")
    }

    static func pretty(_ json: Data) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: json),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else {
            return String(decoding: json, as: UTF8.self)
        }
        return String(decoding: data, as: UTF8.self)
    }
}
