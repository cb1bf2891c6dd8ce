public import AlertCore
import Foundation

/// A secret given inline or as a `*_file` path. File secrets are re-read on
/// every send, so rotating them needs no restart. Never printed.
public enum Secret: Sendable, Equatable, CustomStringConvertible {
    case inline(String)
    case file(String)

    /// The current value (a file's contents without trailing newlines).
    public func value() throws(NotifyError) -> String {
        switch self {
        case .inline(let value):
            return value
        case .file(let path):
            guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw NotifyError(.retryable, reason: "config", message: "cannot read secret file \(path)")
            }
            return contents.trimmingCharacters(in: .newlines)
        }
    }

    public var description: String { "<secret>" }
}

/// `alertmanager_configs` (nats-alerter's receiver kind): forward alerts to
/// one or more Alertmanager replicas with `POST /api/v2/alerts`.
public struct AlertmanagerForwardConfiguration: Sendable, Equatable {
    /// Base URLs (`http://am-1:9093`); every alert goes to every one, since
    /// Alertmanager replicas do not share alerts they receive.
    public var urls: [String]
    public var basicAuth: (username: String, password: Secret)? {
        get { basicAuthUsername.map { ($0, basicAuthPassword ?? .inline("")) } }
        set { basicAuthUsername = newValue?.username; basicAuthPassword = newValue?.password }
    }
    public var basicAuthUsername: String?
    public var basicAuthPassword: Secret?
    public var bearerToken: Secret?
    public var tls: TLSSettings?
    /// Firing alerts are re-posted this often with `endsAt` = now + 4 × this,
    /// so Alertmanager never times them out while they fire.
    public var resendInterval: Duration
    /// How long resolved alerts keep being re-posted.
    public var resolvedResendPeriod: Duration
    public var sendResolved: Bool
    public var timeout: Duration

    public init(urls: [String], basicAuthUsername: String? = nil, basicAuthPassword: Secret? = nil, bearerToken: Secret? = nil,
                tls: TLSSettings? = nil, resendInterval: Duration = .seconds(60), resolvedResendPeriod: Duration = .seconds(300),
                sendResolved: Bool = true, timeout: Duration = .seconds(10)) {
        self.urls = urls
        self.basicAuthUsername = basicAuthUsername
        self.basicAuthPassword = basicAuthPassword
        self.bearerToken = bearerToken
        self.tls = tls
        self.resendInterval = resendInterval
        self.resolvedResendPeriod = resolvedResendPeriod
        self.sendResolved = sendResolved
        self.timeout = timeout
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.urls == b.urls && a.basicAuthUsername == b.basicAuthUsername && a.basicAuthPassword == b.basicAuthPassword
            && a.bearerToken == b.bearerToken && a.tls == b.tls && a.resendInterval == b.resendInterval
            && a.resolvedResendPeriod == b.resolvedResendPeriod && a.sendResolved == b.sendResolved && a.timeout == b.timeout
    }
}

/// `slack_configs`: an incoming webhook.
public struct SlackConfiguration: Sendable, Equatable {
    /// The webhook URL (a secret: it authorizes posting).
    public var apiURL: Secret
    public var channel: String?
    public var username: String?
    public var iconEmoji: String?
    public var iconURL: String?
    /// Mustache templates (Slack-escaped).
    public var title: String
    public var titleLink: String?
    public var text: String
    /// `good`, `warning`, `danger` or `#rrggbb`; a template. Default: danger while firing, good when resolved.
    public var color: String
    public var fields: [(title: String, value: String, short: Bool)]
    public var sendResolved: Bool
    public var timeout: Duration

    public init(apiURL: Secret, channel: String? = nil, username: String? = nil, iconEmoji: String? = nil, iconURL: String? = nil,
                title: String = "{{> slack.title}}", titleLink: String? = nil, text: String = "{{> slack.text}}",
                color: String = "{{#isFiring}}danger{{/isFiring}}{{^isFiring}}good{{/isFiring}}",
                fields: [(title: String, value: String, short: Bool)] = [], sendResolved: Bool = false, timeout: Duration = .seconds(10)) {
        self.apiURL = apiURL
        self.channel = channel
        self.username = username
        self.iconEmoji = iconEmoji
        self.iconURL = iconURL
        self.title = title
        self.titleLink = titleLink
        self.text = text
        self.color = color
        self.fields = fields
        self.sendResolved = sendResolved
        self.timeout = timeout
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.apiURL == b.apiURL && a.channel == b.channel && a.username == b.username && a.iconEmoji == b.iconEmoji
            && a.iconURL == b.iconURL && a.title == b.title && a.titleLink == b.titleLink && a.text == b.text && a.color == b.color
            && a.fields.map { "\($0.title)\u{0}\($0.value)\u{0}\($0.short)" } == b.fields.map { "\($0.title)\u{0}\($0.value)\u{0}\($0.short)" }
            && a.sendResolved == b.sendResolved && a.timeout == b.timeout
    }
}

/// `email_configs`: SMTP through libcurl.
public struct EmailConfiguration: Sendable, Equatable {
    /// Recipients, comma-separated addresses (a template, as in Alertmanager).
    public var to: String
    public var from: String
    /// `host:port`; port 465 means implicit TLS, anything else plain SMTP with STARTTLS.
    public var smarthost: String
    /// The name sent in EHLO.
    public var hello: String
    public var authUsername: String?
    public var authPassword: Secret?
    public var authIdentity: String?
    /// Refuse to send over a connection without STARTTLS (default true, as Alertmanager).
    public var requireTLS: Bool
    public var tls: TLSSettings
    /// Extra headers (values are templates); Subject, To and From can be overridden here.
    public var headers: [String: String]
    /// Mustache templates of the two MIME parts; an empty one is left out.
    public var html: String
    public var text: String
    public var sendResolved: Bool
    public var timeout: Duration

    public init(to: String, from: String, smarthost: String, hello: String = "localhost", authUsername: String? = nil,
                authPassword: Secret? = nil, authIdentity: String? = nil, requireTLS: Bool = true, tls: TLSSettings = TLSSettings(),
                headers: [String: String] = [:], html: String = "{{> email.html}}", text: String = "{{> email.text}}",
                sendResolved: Bool = false, timeout: Duration = .seconds(30)) {
        self.to = to
        self.from = from
        self.smarthost = smarthost
        self.hello = hello
        self.authUsername = authUsername
        self.authPassword = authPassword
        self.authIdentity = authIdentity
        self.requireTLS = requireTLS
        self.tls = tls
        self.headers = headers
        self.html = html
        self.text = text
        self.sendResolved = sendResolved
        self.timeout = timeout
    }
}

/// `webhook_configs`: Alertmanager's webhook payload (version 4).
public struct WebhookConfiguration: Sendable, Equatable {
    public var url: Secret
    /// Most alerts in one payload (0 = all); `truncatedAlerts` says how many were left out.
    public var maxAlerts: Int
    public var sendResolved: Bool
    public var timeout: Duration

    public init(url: Secret, maxAlerts: Int = 0, sendResolved: Bool = true, timeout: Duration = .seconds(10)) {
        self.url = url
        self.maxAlerts = maxAlerts
        self.sendResolved = sendResolved
        self.timeout = timeout
    }
}

/// One receiver with its integrations, as configured.
public struct ReceiverConfiguration: Sendable, Equatable {
    public var name: String
    public var alertmanager: [AlertmanagerForwardConfiguration]
    public var slack: [SlackConfiguration]
    public var email: [EmailConfiguration]
    public var webhook: [WebhookConfiguration]

    public init(name: String, alertmanager: [AlertmanagerForwardConfiguration] = [], slack: [SlackConfiguration] = [],
                email: [EmailConfiguration] = [], webhook: [WebhookConfiguration] = []) {
        self.name = name
        self.alertmanager = alertmanager
        self.slack = slack
        self.email = email
        self.webhook = webhook
    }

    /// Each integration as the engine deduplicates it (kind, index among
    /// that kind, `send_resolved`), in the order `Notifiers` builds workers.
    public var integrationPolicies: [IntegrationPolicy] {
        alertmanager.enumerated().map { IntegrationPolicy(kind: "alertmanager", index: $0.offset, sendResolved: $0.element.sendResolved) }
            + slack.enumerated().map { IntegrationPolicy(kind: "slack", index: $0.offset, sendResolved: $0.element.sendResolved) }
            + webhook.enumerated().map { IntegrationPolicy(kind: "webhook", index: $0.offset, sendResolved: $0.element.sendResolved) }
            + email.enumerated().map { IntegrationPolicy(kind: "email", index: $0.offset, sendResolved: $0.element.sendResolved) }
    }

    /// Whether any integration wants resolved alerts;
    /// true for a receiver with no integration (it only logs).
    public var sendsResolved: Bool {
        let flags = alertmanager.map(\.sendResolved) + slack.map(\.sendResolved) + email.map(\.sendResolved) + webhook.map(\.sendResolved)
        return flags.isEmpty || flags.contains(true)
    }
}
