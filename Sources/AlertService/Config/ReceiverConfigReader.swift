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
                receiver.alertmanager = r.sequence(value, itemPath).enumerated().compactMap { readAlertmanager($1, "\(itemPath)[\($0)]", &r, &notes) }
            case "slack_configs":
                receiver.slack = r.sequence(value, itemPath).enumerated().compactMap { readSlack($1, "\(itemPath)[\($0)]", &r, &notes) }
            case "email_configs":
                receiver.email = r.sequence(value, itemPath).enumerated().compactMap { readEmail($1, "\(itemPath)[\($0)]", &r, &notes) }
            case "webhook_configs":
                receiver.webhook = r.sequence(value, itemPath).enumerated().compactMap { readWebhook($1, "\(itemPath)[\($0)]", &r, &notes) }
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

    // MARK: kinds

    func readAlertmanager(_ node: Node, _ path: String, _ r: inout YAMLReader, _ notes: inout [String]) -> AlertmanagerForwardConfiguration? {
        var config = AlertmanagerForwardConfiguration(urls: [])
        var bearer: String?, bearerFile: String?
        let keys: Set<String> = ["urls", "basic_auth", "bearer_token", "bearer_token_file", "tls_config", "resend_interval",
                                 "resolved_resend_period", "send_resolved", "timeout"]
        for (key, value) in fields(node, path, keys, &r, &notes) {
            let p = "\(path).\(key)"
            switch key {
            case "urls":
                config.urls = r.strings(value, p)
                for (index, url) in config.urls.enumerated() where !Self.isHTTPURL(url) {
                    r.fail("\(p)[\(index)]", "\"\(url)\" is not an http:// or https:// URL", value)
                }
            case "basic_auth":
                var username: String?, password: String?, passwordFile: String?
                for (field, item) in r.mapping(value, p, allowed: ["username", "password", "password_file"]) {
                    switch field {
                    case "username": username = r.string(item, "\(p).username")
                    case "password": password = r.string(item, "\(p).password")
                    default: passwordFile = r.string(item, "\(p).password_file")
                    }
                }
                config.basicAuthUsername = username
                config.basicAuthPassword = secret(password, passwordFile, "\(p).password", &r)
                if username == nil { r.fail(p, "basic_auth needs a username", value) }
            case "bearer_token": bearer = r.string(value, p)
            case "bearer_token_file": bearerFile = r.string(value, p)
            case "tls_config": config.tls = readTLS(value, p, &r)
            case "resend_interval": if let d = r.duration(value, p, allowZero: false) { config.resendInterval = d }
            case "resolved_resend_period": if let d = r.duration(value, p) { config.resolvedResendPeriod = d }
            case "send_resolved": config.sendResolved = r.bool(value, p) ?? true
            case "timeout": if let d = r.duration(value, p, allowZero: false) { config.timeout = d }
            default: break
            }
        }
        config.bearerToken = secret(bearer, bearerFile, "\(path).bearer_token", &r)
        if config.bearerToken != nil && config.basicAuthUsername != nil {
            r.fail(path, "set either basic_auth or bearer_token, not both", node)
        }
        if config.urls.isEmpty { r.fail("\(path).urls", "at least one Alertmanager URL is needed", node) }
        return config
    }

    func readSlack(_ node: Node, _ path: String, _ r: inout YAMLReader, _ notes: inout [String]) -> SlackConfiguration? {
        var url: String?, urlFile: String?
        var config = SlackConfiguration(apiURL: .inline(""))
        let keys: Set<String> = ["send_resolved", "api_url", "api_url_file", "channel", "username", "icon_emoji", "icon_url",
                                 "title", "title_link", "text", "color", "fields", "timeout"]
        for (key, value) in fields(node, path, keys, &r, &notes) {
            let p = "\(path).\(key)"
            switch key {
            case "send_resolved": config.sendResolved = r.bool(value, p) ?? false
            case "api_url": url = r.string(value, p)
            case "api_url_file": urlFile = r.string(value, p)
            case "channel": config.channel = r.string(value, p)
            case "username": config.username = r.string(value, p)
            case "icon_emoji": config.iconEmoji = r.string(value, p)
            case "icon_url": config.iconURL = r.string(value, p)
            case "title": config.title = template(value, p, &r) ?? config.title
            case "title_link": config.titleLink = template(value, p, &r)
            case "text": config.text = template(value, p, &r) ?? config.text
            case "color": config.color = template(value, p, &r) ?? config.color
            case "fields":
                for (index, item) in r.sequence(value, p).enumerated() {
                    var title = "", text = "", short = false
                    for (field, entry) in r.mapping(item, "\(p)[\(index)]", allowed: ["title", "value", "short"]) {
                        let fp = "\(p)[\(index)].\(field)"
                        switch field {
                        case "title": title = template(entry, fp, &r) ?? ""
                        case "value": text = template(entry, fp, &r) ?? ""
                        default: short = r.bool(entry, fp) ?? false
                        }
                    }
                    config.fields.append((title, text, short))
                }
            case "timeout": if let d = r.duration(value, p, allowZero: false) { config.timeout = d }
            default: break
            }
        }
        if let url, !Self.isHTTPURL(url) { r.fail("\(path).api_url", "not an http:// or https:// URL") }
        guard let apiURL = secret(url, urlFile, "\(path).api_url", &r) ?? defaults.slackAPIURL else {
            r.fail("\(path).api_url", "missing: set api_url, api_url_file or global.slack_api_url", node)
            return nil
        }
        config.apiURL = apiURL
        return config
    }

    func readEmail(_ node: Node, _ path: String, _ r: inout YAMLReader, _ notes: inout [String]) -> EmailConfiguration? {
        var to: String?, from = defaults.smtpFrom, smarthost = defaults.smtpSmarthost
        var password: String?, passwordFile: String?
        var config = EmailConfiguration(to: "", from: "", smarthost: "")
        config.hello = defaults.smtpHello ?? config.hello
        config.authUsername = defaults.smtpAuthUsername
        config.authIdentity = defaults.smtpAuthIdentity
        config.requireTLS = defaults.smtpRequireTLS ?? true
        let keys: Set<String> = ["send_resolved", "to", "from", "smarthost", "hello", "auth_username", "auth_password",
                                 "auth_password_file", "auth_identity", "require_tls", "tls_config", "headers", "html", "text", "timeout"]
        for (key, value) in fields(node, path, keys, &r, &notes) {
            let p = "\(path).\(key)"
            switch key {
            case "send_resolved": config.sendResolved = r.bool(value, p) ?? false
            case "to": to = template(value, p, &r)
            case "from": from = r.string(value, p)
            case "smarthost": smarthost = r.string(value, p)
            case "hello": config.hello = r.string(value, p) ?? config.hello
            case "auth_username": config.authUsername = r.string(value, p)
            case "auth_password": password = r.string(value, p)
            case "auth_password_file": passwordFile = r.string(value, p)
            case "auth_identity": config.authIdentity = r.string(value, p)
            case "require_tls": config.requireTLS = r.bool(value, p) ?? true
            case "tls_config": config.tls = readTLS(value, p, &r)
            case "headers":
                for (name, item) in r.mapping(value, p) {
                    guard Self.isHeaderName(name) else {
                        r.fail("\(p).\(name)", "not a valid header name", item)
                        continue
                    }
                    config.headers[name] = template(item, "\(p).\(name)", &r)
                }
            case "html": config.html = template(value, p, &r) ?? config.html
            case "text": config.text = template(value, p, &r) ?? config.text
            case "timeout": if let d = r.duration(value, p, allowZero: false) { config.timeout = d }
            default: break
            }
        }
        config.authPassword = secret(password, passwordFile, "\(path).auth_password", &r) ?? defaults.smtpAuthPassword
        guard let to, !to.isEmpty else {
            r.fail("\(path).to", "missing: the recipients", node)
            return nil
        }
        guard let from, !from.isEmpty else {
            r.fail("\(path).from", "missing: set from or global.smtp_from", node)
            return nil
        }
        guard let smarthost, !smarthost.isEmpty else {
            r.fail("\(path).smarthost", "missing: set smarthost or global.smtp_smarthost", node)
            return nil
        }
        let parts = smarthost.split(separator: ":")
        if parts.count != 2 || parts[0].isEmpty || Int(parts[1]).map({ !(1...65535).contains($0) }) ?? true {
            r.fail("\(path).smarthost", "\"\(smarthost)\" is not host:port")
        }
        config.to = to
        config.from = from
        config.smarthost = smarthost
        return config
    }

    func readWebhook(_ node: Node, _ path: String, _ r: inout YAMLReader, _ notes: inout [String]) -> WebhookConfiguration? {
        var url: String?, urlFile: String?
        var config = WebhookConfiguration(url: .inline(""))
        for (key, value) in fields(node, path, ["send_resolved", "url", "url_file", "max_alerts", "timeout"], &r, &notes) {
            let p = "\(path).\(key)"
            switch key {
            case "send_resolved": config.sendResolved = r.bool(value, p) ?? true
            case "url": url = r.string(value, p)
            case "url_file": urlFile = r.string(value, p)
            case "max_alerts": if let n = r.int(value, p, min: 0) { config.maxAlerts = n }
            case "timeout": if let d = r.duration(value, p, allowZero: false) { config.timeout = d }
            default: break
            }
        }
        if let url, !Self.isHTTPURL(url) { r.fail("\(path).url", "not an http:// or https:// URL") }
        guard let secret = secret(url, urlFile, "\(path).url", &r) else {
            r.fail("\(path).url", "missing: set url or url_file", node)
            return nil
        }
        config.url = secret
        return config
    }

    // MARK: helpers

    /// The entries of an integration's mapping: known keys, Alertmanager keys
    /// without effect (noted), anything else an error.
    func fields(_ node: Node, _ path: String, _ keys: Set<String>, _ r: inout YAMLReader, _ notes: inout [String]) -> [(String, Node)] {
        r.mapping(node, path, allowed: keys.union(Self.ignoredKeys)).filter { key, _ in
            if Self.ignoredKeys.contains(key) {
                notes.append("\(path).\(key): Alertmanager option without effect in nats-alerter; ignored")
                return false
            }
            return true
        }
    }

    func secret(_ inline: String?, _ file: String?, _ path: String, _ r: inout YAMLReader) -> Secret? {
        if inline != nil && file != nil {
            r.fail(path, "set either the value or its _file twin, not both")
            return nil
        }
        if let file {
            let resolved = ConfigLoader.resolve(file, base: base)
            if !FileManager.default.isReadableFile(atPath: resolved) { r.fail(path + "_file", "cannot read \(resolved)") }
            return .file(resolved)
        }
        return inline.map(Secret.inline)
    }

    func readTLS(_ node: Node, _ path: String, _ r: inout YAMLReader) -> TLSSettings {
        ConfigLoader.readTLS(node, path, &r, baseDirectory: base)
    }

    /// A templated field: refuses Alertmanager's Go templates with a clear message.
    func template(_ node: Node, _ path: String, _ r: inout YAMLReader) -> String? {
        guard let text = r.string(node, path) else { return nil }
        if text.range(of: #"\{\{-?\s*(\.|template\s|define\s|range\s|if\s|end\b|with\s)"#, options: .regularExpression) != nil {
            r.fail(path, "this looks like an Alertmanager Go template; nats-alerter templates are Mustache (e.g. {{commonLabels.alertname}}, {{#firing}}…{{/firing}}); see README \"Templates\"", node)
            return nil
        }
        do {
            try TemplateLibrary.validate(text)
        } catch {
            r.fail(path, "\(error)", node)
            return nil
        }
        return text
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
