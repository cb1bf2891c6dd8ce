public import AlertCore
import Foundation

/// `email_configs`: one message per notification, sent over SMTP with libcurl.
///
/// The subject (header `Subject`, else `email.subject`), the `text` and `html`
/// parts, `to`, `from` and every configured header value are Mustache
/// templates over `TemplateData`. Event data reaches the message only through
/// them, and never as structure: header values lose their control characters
/// (so no CR/LF can start a header line), and the recipients — the SMTP
/// envelope, nothing else — are exactly the addresses parsed from the
/// rendered `to`, each of which must be one valid mailbox.
///
/// Threading: `send` may be called concurrently; each call renders on the
/// caller's task and runs the SMTP transfer on a thread of its own.
public struct EmailNotifier: Integration {
    public let configuration: EmailConfiguration
    public let templates: TemplateLibrary
    public let externalURL: String

    public var kind: String { "email" }
    public var sendResolved: Bool { configuration.sendResolved }

    public init(configuration: EmailConfiguration, templates: TemplateLibrary, externalURL: String = "") {
        self.configuration = configuration
        self.templates = templates
        self.externalURL = externalURL
    }

    public func send(_ notification: AlertCore.Notification) async throws(NotifyError) {
        guard let email = try compose(notification) else { return }
        let transport = try SMTPTransport(configuration: configuration)
        let password = try configuration.authPassword?.value()
        try await transport.send(email.message.encoded(), from: email.sender, to: email.recipients, password: password)
    }

    /// A message ready to send, with its envelope.
    struct ComposedEmail: Sendable {
        var sender: EmailAddress
        var recipients: [EmailAddress]
        var message: EmailMessage
    }

    /// Renders the message for `notification`; nil when nothing is left to
    /// send (only resolved alerts, and this integration does not send those).
    func compose(_ notification: AlertCore.Notification, now: Date = Date()) throws(NotifyError) -> ComposedEmail? {
        var notification = notification
        notification.sendResolved = configuration.sendResolved
        if !configuration.sendResolved { notification.resolved = [] }
        guard !notification.firing.isEmpty || !notification.resolved.isEmpty else { return nil }

        let context = TemplateData(notification, externalURL: externalURL, now: now).context
        func render(_ source: String, _ format: TemplateFormat, _ field: String) throws(NotifyError) -> String {
            do {
                return try templates.render(source, format: format, data: context)
            } catch {
                throw NotifyError(.permanent, reason: "template", message: "email \(field): \(error)")
            }
        }
        func addresses(_ source: String, _ field: String) throws(NotifyError) -> [EmailAddress] {
            let text = try render(source, .text, field)
            do {
                return try EmailAddress.parseList(text)
            } catch {
                throw NotifyError(.permanent, reason: "config", message: "email \(field): \(error)")
            }
        }

        // Recipients come from the configuration only: `to` is split into its
        // entries before rendering, and each entry must render to exactly one
        // mailbox, so a comma in a label value cannot add a recipient.
        var recipients: [EmailAddress] = []
        for entry in Self.splitAddressList(configuration.to) {
            let rendered = try addresses(entry, "to")
            guard rendered.count == 1 else {
                throw NotifyError(.permanent, reason: "config", message: "email to: the entry \(entry.debugDescription) rendered to \(rendered.count) addresses; "
                                  + "each comma-separated entry of `to` must render to one mailbox (event data cannot add recipients)")
            }
            recipients.append(contentsOf: rendered)
        }
        guard !recipients.isEmpty else {
            throw NotifyError(.permanent, reason: "config", message: "email to: no recipient")
        }
        let senders = try addresses(configuration.from, "from")
        guard senders.count == 1, let sender = senders.first else {
            throw NotifyError(.permanent, reason: "config", message: "email from: \(senders.count) addresses, expected one")
        }
        let configured = configuration.headers.sorted { $0.key.lowercased() < $1.key.lowercased() }
        let subjectSource = configured.first { $0.key.lowercased() == "subject" }?.value ?? "{{> email.subject}}"

        var headers = [
            HeaderField(name: "From", value: .addresses([sender])),
            HeaderField(name: "To", value: .addresses(recipients)),
            HeaderField(name: "Subject", value: .text(try render(subjectSource, .text, "subject"))),
            HeaderField(name: "Date", value: .ascii(EmailMessage.dateHeaderValue(now))),
            HeaderField(name: "Message-Id", value: .ascii(EmailMessage.messageID(date: now, domain: sender.domain))),
        ]
        for (name, source) in configured where name.lowercased() != "subject" {
            let field = try configuredHeader(name: name, value: try render(source, .text, "header \(name)"))
            if let index = headers.firstIndex(where: { $0.name.lowercased() == name.lowercased() }) {
                headers[index] = field
            } else {
                headers.append(field)
            }
        }

        let message = EmailMessage(
            headers: headers,
            text: try render(configuration.text, .text, "text"),
            html: try render(configuration.html, .html, "html")
        )
        return ComposedEmail(sender: sender, recipients: recipients, message: message)
    }

    /// The entries of a configured address list, split on commas outside
    /// quotes, angle brackets and Mustache tags (`{{…}}`); blank entries dropped.
    static func splitAddressList(_ source: String) -> [String] {
        EmailAddress.splitList(source, templateTags: true).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    /// Address headers a configuration may set; their values must parse as address lists.
    private static let addressHeaderNames: Set<String> = ["from", "to", "cc", "reply-to", "sender"]

    /// A configured header, its value rendered: address headers parsed as
    /// address lists (shown only: they add no recipient), others as text.
    private func configuredHeader(name: String, value: String) throws(NotifyError) -> HeaderField {
        let lowered = name.lowercased()
        guard HeaderField.isValidName(name) else {
            throw NotifyError(.permanent, reason: "config", message: "email header name \(name.debugDescription) is not a valid field name")
        }
        guard !EmailMessage.mimeHeaderNames.contains(lowered) else {
            throw NotifyError(.permanent, reason: "config", message: "email header \(name) is set by nats-alerter (the MIME structure)")
        }
        guard lowered != "bcc" else {
            throw NotifyError(.permanent, reason: "config", message: "email header Bcc is not supported: recipients come only from `to`")
        }
        guard Self.addressHeaderNames.contains(lowered) else { return HeaderField(name: name, value: .text(value)) }
        do {
            return HeaderField(name: name, value: .addresses(try EmailAddress.parseList(value)))
        } catch {
            throw NotifyError(.permanent, reason: "config", message: "email header \(name): \(error)")
        }
    }
}
