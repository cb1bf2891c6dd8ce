import AlertCore
import AlertNotify

extension ConfigSection<AlertmanagerForwardConfiguration> {
    /// `alertmanager_configs[]`: alerts posted to Alertmanager's API.
    static var alertmanagerForward: Self {
        .integration([
            .key("urls", \.urls, .strings.eachChecked { ReceiverConfigReader.isHTTPURL($0) ? nil : "\"\($0)\" is not an http:// or https:// URL" },
                 doc: "Alertmanager base URLs; every alert goes to each"),
            .section("basic_auth", \.self, .basicAuth, doc: "username with password or password_file"),
            .combined("bearer_token", into: \.bearerToken, doc: "sent as Authorization: Bearer"),
            .combined("bearer_token_file", into: \.bearerToken, doc: "a file holding the bearer token"),
            .section("tls_config", \.tls, .tls, from: TLSSettings(), doc: "TLS to Alertmanager"),
            .key("resend_interval", \.resendInterval, .duration(allowZero: false), doc: "firing alerts are re-posted this often"),
            .key("resolved_resend_period", \.resolvedResendPeriod, .duration(), doc: "how long resolved alerts keep being re-posted"),
        ], combine: { config, entries, r, context in
            config.bearerToken = entries.secret("bearer_token", &r, context)
            if config.bearerToken != nil && config.basicAuthUsername != nil {
                r.fail(entries.path, "set either basic_auth or bearer_token, not both", entries.node)
            }
            if config.urls.isEmpty { r.fail(entries.path("urls"), "at least one Alertmanager URL is needed", entries.node) }
        })
    }

    /// `alertmanager_configs[].basic_auth:`
    static var basicAuth: Self {
        Self(fields: [
            .key("username", \.basicAuthUsername, .string, doc: "the user name"),
            .combined("password", into: \.basicAuthPassword, doc: "the password"),
            .combined("password_file", into: \.basicAuthPassword, doc: "a file holding the password"),
        ], combine: { config, entries, r, context in
            config.basicAuthPassword = entries.secret("password", &r, context)
            if config.basicAuthUsername == nil { r.fail(entries.path, "basic_auth needs a username", entries.node) }
        })
    }
}

extension ConfigSection<SlackConfiguration> {
    /// `slack_configs[]`: an incoming webhook.
    static var slack: Self {
        .integration([
            .combined("api_url", into: \.apiURL, doc: "the webhook URL; default: global.slack_api_url"),
            .combined("api_url_file", into: \.apiURL, doc: "a file holding the webhook URL"),
            .key("channel", \.channel, .string, doc: "overrides the webhook's channel"),
            .key("username", \.username, .string, doc: "the poster's name"),
            .key("icon_emoji", \.iconEmoji, .string, doc: "the poster's emoji"),
            .key("icon_url", \.iconURL, .string, doc: "the poster's picture"),
            .key("title", \.title, .template, doc: "the title (a template)"),
            .key("title_link", \.titleLink, .template, doc: "the title's link (a template)"),
            .key("text", \.text, .template, doc: "the text (a template)"),
            .key("color", \.color, .template, doc: "good, warning, danger or #rrggbb (a template)"),
            .custom("fields", doc: "attachment fields: title and value (templates), short") { config, node, path, r, context in
                for (index, item) in r.sequence(node, path).enumerated() {
                    var title = "", text = "", short = false
                    for (field, entry) in r.mapping(item, "\(path)[\(index)]", allowed: ["title", "value", "short"]) {
                        let fieldPath = "\(path)[\(index)].\(field)"
                        switch field {
                        case "title": title = ConfigParser.template.parse(entry, fieldPath, &r, context) ?? ""
                        case "value": text = ConfigParser.template.parse(entry, fieldPath, &r, context) ?? ""
                        default: short = r.bool(entry, fieldPath) ?? false
                        }
                    }
                    config.fields.append((title, text, short))
                }
            },
        ], combine: { config, entries, r, context in
            let url = entries.secret("api_url", &r, context) { ReceiverConfigReader.isHTTPURL($0) ? nil : "not an http:// or https:// URL" }
            if let url { config.apiURL = url }
        })
    }
}

extension ConfigSection<EmailConfiguration> {
    /// `email_configs[]`: SMTP.
    static var email: Self {
        .integration([
            .key("to", \.to, .template, doc: "recipients, comma-separated (a template)"),
            .key("from", \.from, .string, doc: "the sender; default: global.smtp_from"),
            .key("smarthost", \.smarthost, .string, doc: "host:port; default: global.smtp_smarthost"),
            .key("hello", \.hello, .string, doc: "the name sent in EHLO"),
            .key("auth_username", \.authUsername, .string, doc: "SMTP user"),
            .combined("auth_password", into: \.authPassword, doc: "SMTP password"),
            .combined("auth_password_file", into: \.authPassword, doc: "a file holding the SMTP password"),
            .key("auth_identity", \.authIdentity, .string, doc: "SMTP PLAIN identity"),
            .key("require_tls", \.requireTLS, .bool, doc: "refuse to send without STARTTLS"),
            .section("tls_config", \.tls, .tls, doc: "TLS to the mail server"),
            .custom("headers", doc: "extra headers (values are templates)") { config, node, path, r, context in
                for (name, item) in r.mapping(node, path) {
                    guard ReceiverConfigReader.isHeaderName(name) else {
                        r.fail("\(path).\(name)", "not a valid header name", item)
                        continue
                    }
                    config.headers[name] = ConfigParser.template.parse(item, "\(path).\(name)", &r, context)
                }
            },
            .key("html", \.html, .template, doc: "the HTML part (a template)"),
            .key("text", \.text, .template, doc: "the text part (a template)"),
        ], combine: { config, entries, r, context in
            if let password = entries.secret("auth_password", &r, context) { config.authPassword = password }
        })
    }
}

extension ConfigSection<WebhookConfiguration> {
    /// `webhook_configs[]`: Alertmanager's webhook payload.
    static var webhook: Self {
        .integration([
            .combined("url", into: \.url, doc: "where to post"),
            .combined("url_file", into: \.url, doc: "a file holding the URL"),
            .key("max_alerts", \.maxAlerts, .int(min: 0), doc: "most alerts in one payload; 0: all"),
        ], combine: { config, entries, r, context in
            if let url = entries.secret("url", &r, context, { ReceiverConfigReader.isHTTPURL($0) ? nil : "not an http:// or https:// URL" }) { config.url = url }
        })
    }
}

/// What every integration's configuration has.
protocol IntegrationSettings {
    var sendResolved: Bool { get set }
    var timeout: Duration { get set }
}

extension AlertmanagerForwardConfiguration: IntegrationSettings {}
extension SlackConfiguration: IntegrationSettings {}
extension EmailConfiguration: IntegrationSettings {}
extension WebhookConfiguration: IntegrationSettings {}

extension ConfigSection where Value: IntegrationSettings {
    /// An integration's own keys plus `send_resolved` and `timeout`;
    /// Alertmanager's options without effect here load with a note.
    static func integration(_ fields: [ConfigField<Value>], combine: @escaping (inout Value, ConfigEntries, inout YAMLReader, ConfigContext) -> Void) -> Self {
        Self(fields: [.key("send_resolved", \.sendResolved, .bool, doc: "notify when alerts resolve")] + fields
                + [.key("timeout", \.timeout, .duration(allowZero: false), doc: "how long one send may take")],
             ignoredKeys: ReceiverConfigReader.ignoredKeys, combine: combine)
    }
}
