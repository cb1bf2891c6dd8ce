import AlertCore
import AlertNotify
import Foundation
import Yams

/// `global` values the integrations fall back on (Alertmanager's).
struct GlobalNotifyDefaults {
    var smtpFrom: String?
    var smtpSmarthost: String?
    var smtpHello: String?
    var smtpAuthUsername: String?
    var smtpAuthPassword: Secret?
    var smtpAuthIdentity: String?
    var smtpRequireTLS: Bool?
    var slackAPIURL: Secret?
    /// `global.resolve_timeout`: the engine's, read with the rest of `global`.
    var resolveTimeout: Duration?
    /// nats-alerter: how long a notification may be retried before it is given up.
    var notificationDeadline: Duration?
    /// nats-alerter: the link back to this service in notifications.
    var externalURL: String?
}

/// Reads the integrations of `receivers[]` into typed configurations.
struct ReceiverConfigReader {
    static let implementedKinds: Set<String> = ["alertmanager_configs", "slack_configs", "email_configs", "webhook_configs"]
    static let alertmanagerOnlyKinds: Set<String> = [
        "pagerduty_configs", "opsgenie_configs", "victorops_configs", "pushover_configs", "wechat_configs",
        "telegram_configs", "discord_configs", "msteams_configs", "msteamsv2_configs", "sns_configs", "webex_configs",
        "jira_configs", "rocketchat_configs",
    ]
    /// Alertmanager keys that are accepted but have no effect here.
    static let ignoredKeys: Set<String> = [
        "http_config", "pretext", "footer", "fallback", "callback_id", "image_url", "thumb_url", "link_names", "short_fields",
        "mrkdwn_in", "actions", "auth_secret", "auth_secret_file", "message_thread_id",
    ]

    let base: String
    let defaults: GlobalNotifyDefaults

    func read(_ node: Node, _ path: String, _ r: inout YAMLReader, notes: inout [String]) -> ReceiverConfiguration? {
        var receiver = ReceiverConfiguration(name: "")
        for (key, value) in r.mapping(node, path) {
            let itemPath = "\(path).\(key)"
            switch key {
            case "name":
                receiver.name = r.string(value, itemPath) ?? ""
            case "alertmanager_configs":
                receiver.alertmanager = integrations(value, itemPath, .alertmanagerForward, from: .init(urls: []), &r, &notes)
            case "slack_configs":
                receiver.slack = integrations(value, itemPath, .slack, from: .init(apiURL: defaults.slackAPIURL ?? .inline("")), &r, &notes,
                                              complete: Self.requires(\.apiURL, "api_url", "set api_url, api_url_file or global.slack_api_url"))
            case "email_configs":
                receiver.email = integrations(value, itemPath, .email, from: emailDefaults, &r, &notes, complete: Self.isComplete)
            case "webhook_configs":
                receiver.webhook = integrations(value, itemPath, .webhook, from: .init(url: .inline("")), &r, &notes,
                                                complete: Self.requires(\.url, "url", "set url or url_file"))
            default:
                if Self.alertmanagerOnlyKinds.contains(key) {
                    notes.append("\(itemPath): Alertmanager integration not supported by nats-alerter; ignored (forward to Alertmanager with alertmanager_configs instead)")
                } else {
                    r.fail(itemPath, "unknown field (a receiver has a name and *_configs lists: \(Self.implementedKinds.sorted().joined(separator: ", ")))", value)
                }
            }
        }
        guard !receiver.name.isEmpty else {
            r.fail(path, "a receiver needs a name", node)
            return nil
        }
        return receiver
    }

    /// Each item of an integration list, read by `section` from `initial`;
    /// `complete` refuses one that lacks what no key gave it.
    func integrations<Configuration>(_ node: Node, _ path: String, _ section: ConfigSection<Configuration>, from initial: Configuration,
                                     _ r: inout YAMLReader, _ notes: inout [String],
                                     complete: (Configuration, Node, String, inout YAMLReader) -> Bool = { _, _, _, _ in true }) -> [Configuration] {
        r.sequence(node, path).enumerated().compactMap { index, item in
            var configuration = initial
            notes += section.read(item, "\(path)[\(index)]", into: &configuration, &r, ConfigContext(baseDirectory: base))
            return complete(configuration, item, "\(path)[\(index)]", &r) ? configuration : nil
        }
    }

    /// An email integration starts from the `global.smtp_*` defaults.
    var emailDefaults: EmailConfiguration {
        var email = EmailConfiguration(to: "", from: defaults.smtpFrom ?? "", smarthost: defaults.smtpSmarthost ?? "",
                                       authUsername: defaults.smtpAuthUsername, authPassword: defaults.smtpAuthPassword,
                                       authIdentity: defaults.smtpAuthIdentity, requireTLS: defaults.smtpRequireTLS ?? true)
        email.hello = defaults.smtpHello ?? email.hello
        return email
    }

    /// Refuses an integration whose secret `key` neither a key nor a global default set.
    static func requires<Configuration>(_ secret: KeyPath<Configuration, Secret>, _ key: String, _ hint: String)
        -> (Configuration, Node, String, inout YAMLReader) -> Bool {
        { configuration, node, path, r in
            if configuration[keyPath: secret] != .inline("") { return true }
            r.fail("\(path).\(key)", "missing: \(hint)", node)
            return false
        }
    }

    static func isComplete(_ email: EmailConfiguration, _ node: Node, _ path: String, _ r: inout YAMLReader) -> Bool {
        let required = [("to", email.to, "the recipients"), ("from", email.from, "set from or global.smtp_from"),
                        ("smarthost", email.smarthost, "set smarthost or global.smtp_smarthost")]
        if let (key, _, missing) = required.first(where: { $0.1.isEmpty }) {
            r.fail("\(path).\(key)", "missing: \(missing)", node)
            return false
        }
        let parts = email.smarthost.split(separator: ":")
        if parts.count != 2 || parts[0].isEmpty || Int(parts[1]).map({ !(1...65535).contains($0) }) ?? true {
            r.fail("\(path).smarthost", "\"\(email.smarthost)\" is not host:port")
        }
        return true
    }

    static func isHTTPURL(_ text: String) -> Bool {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              ["http", "https"].contains(scheme), components.host?.isEmpty == false else { return false }
        return true
    }

    static func isHeaderName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 32 && $0.value < 127 && $0 != ":" }
    }
}
