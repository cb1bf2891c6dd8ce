public import AlertCore
public import Foundation

/// `slack_configs`: posts to a Slack incoming webhook.
///
/// Values from events are Slack-escaped by the templates (`&`, `<`, `>`), so
/// `<!channel>` in a label pings nobody. Messages are cut to Slack's limits
/// by dropping whole alerts and saying so ("… 12 more alerts"). Requests to
/// one webhook URL are spaced one second apart, measured from the end of the
/// previous request; a 429 waits for
/// `Retry-After` and retries (Alertmanager drops these).
public struct SlackNotifier: Integration {
    /// Slack's documented limits.
    public static let maxTextCharacters = 40_000
    public static let maxTitleCharacters = 3_000
    public static let maxFieldValueCharacters = 3_000
    public static let maxFields = 50

    public let configuration: SlackConfiguration
    public let templates: TemplateLibrary
    public let poster: HTTPPoster?
    public let rateLimiter: RateLimiter
    public let externalURL: String
    public var kind: String { "slack" }
    public var sendResolved: Bool { configuration.sendResolved }

    /// - Parameter poster: nil only to render messages (previews).
    public init(configuration: SlackConfiguration, templates: TemplateLibrary, poster: HTTPPoster?,
                rateLimiter: RateLimiter = RateLimiter(interval: .seconds(1)), externalURL: String = "") {
        self.configuration = configuration
        self.templates = templates
        self.poster = poster
        self.rateLimiter = rateLimiter
        self.externalURL = externalURL
    }

    public func send(_ notification: AlertCore.Notification) async throws(NotifyError) {
        var notification = notification
        if !configuration.sendResolved { notification.resolved = [] }
        guard !notification.firing.isEmpty || !notification.resolved.isEmpty else { return }
        let payload = try message(for: notification)
        guard let poster else { throw NotifyError(.permanent, reason: "config", message: "Slack notifier built for previews only") }
        let url = try configuration.apiURL.value()
        let timeout = configuration.timeout
        try await rateLimiter.spaced(url) { () async throws(NotifyError) in
            try await poster.post(url, json: payload, timeout: timeout, what: "Slack message")
        }
    }

    /// The JSON body for a notification (also used by `template render`).
    public func message(for notification: AlertCore.Notification, now: Date = Date()) throws(NotifyError) -> Data {
        let full = TemplateData(notification, externalURL: externalURL, now: now).context
        let title = Self.cut(try render(configuration.title, full), to: Self.maxTitleCharacters)
        let text = try fittedText(notification, now: now)
        var attachment: [String: Any] = [
            "title": title,
            "fallback": title,
            "text": text,
            "color": try render(configuration.color, full).trimmingCharacters(in: .whitespacesAndNewlines),
            "mrkdwn_in": ["fallback", "pretext", "text"],
        ]
        if let link = configuration.titleLink { attachment["title_link"] = try render(link, full) }
        if !configuration.fields.isEmpty {
            attachment["fields"] = try configuration.fields.prefix(Self.maxFields).map { field throws(NotifyError) -> [String: Any] in
                ["title": try render(field.title, full), "value": Self.cut(try render(field.value, full), to: Self.maxFieldValueCharacters), "short": field.short]
            }
        }
        var body: [String: Any] = ["attachments": [attachment]]
        if let channel = configuration.channel { body["channel"] = channel }
        if let username = configuration.username { body["username"] = username }
        if let icon = configuration.iconEmoji { body["icon_emoji"] = icon }
        if let icon = configuration.iconURL { body["icon_url"] = icon }
        do {
            return try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])
        } catch {
            throw NotifyError(.permanent, reason: "template", message: "cannot encode the Slack message: \(error)")
        }
    }

    /// The text with as many alerts as fit, the rest counted in a last line.
    func fittedText(_ notification: AlertCore.Notification, now: Date) throws(NotifyError) -> String {
        let text = try render(configuration.text, TemplateData(notification, externalURL: externalURL, now: now).context)
        if text.count <= Self.maxTextCharacters { return text }
        let alerts = notification.firing.map { ($0, true) } + notification.resolved.map { ($0, false) }
        func rendered(keeping count: Int) throws(NotifyError) -> String {
            var part = notification
            let kept = alerts.prefix(count)
            part.firing = kept.filter(\.1).map(\.0)
            part.resolved = kept.filter { !$0.1 }.map(\.0)
            let omitted = alerts.count - count
            return try render(configuration.text, TemplateData(part, externalURL: externalURL, now: now).context)
                + "\n… \(omitted) more alert\(omitted == 1 ? "" : "s")"
        }
        var low = 0, high = alerts.count - 1
        while low < high {  // the largest count that fits
            let middle = (low + high + 1) / 2
            if try rendered(keeping: middle).count <= Self.maxTextCharacters { low = middle } else { high = middle - 1 }
        }
        let best = try rendered(keeping: low)
        return best.count <= Self.maxTextCharacters ? best : Self.cut(best, to: Self.maxTextCharacters)
    }

    private func render(_ source: String, _ data: [String: Any]) throws(NotifyError) -> String {
        do {
            return try templates.render(source, format: .slack, data: data)
        } catch {
            throw NotifyError(.permanent, reason: "template", message: "\(error)")
        }
    }

    static func cut(_ text: String, to limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }
}
