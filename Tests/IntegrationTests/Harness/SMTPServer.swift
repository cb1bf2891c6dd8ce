import Foundation

/// A real SMTP server (Tests/Fixtures/smtp_server.py, on Debian's aiosmtpd)
/// on a free loopback port, recording every message it accepts.
final class SMTPServer: Sendable {
    /// One accepted message, as the server saw it.
    struct Message: Sendable {
        let mailFrom: String
        let recipients: [String]
        /// The message text as received (after SMTP dot-unstuffing).
        let data: String
        let usedTLS: Bool
        let authenticatedUser: String?
        /// Decoded by Python's email package: header fields in order.
        let headers: [(name: String, value: String)]
        /// Decoded leaf MIME parts: content type, transfer encoding, text.
        let parts: [(contentType: String, transferEncoding: String, content: String)]

        func header(_ name: String) -> [String] {
            headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
        }
    }

    private let fixture: PythonFixture

    var port: Int { fixture.port }
    var process: ChildProcess { fixture.process }
    /// `host:port` for `smarthost`.
    var smarthost: String { "127.0.0.1:\(port)" }

    /// - Parameters:
    ///   - startTLS: certificate and key files; the server offers STARTTLS only with them.
    ///   - auth: `user:password` the server requires.
    ///   - rejectRecipients: `address:code` answers to RCPT TO.
    init(directory: URL, startTLS: (certificate: URL, key: URL)? = nil, auth: String? = nil, rejectRecipients: [String] = []) async throws {
        var arguments: [String] = []
        if let startTLS { arguments += ["--starttls", startTLS.certificate.path, startTLS.key.path] }
        if let auth { arguments += ["--auth", auth] }
        for rejection in rejectRecipients { arguments += ["--reject-rcpt", rejection] }
        fixture = try await PythonFixture(
            script: "smtp_server.py", name: "smtp-server", arguments: arguments, directory: directory,
            hint: "is python3-aiosmtpd installed? scripts/setup.sh --test"
        )
    }

    var messages: [Message] {
        fixture.records.map { object in
            let headers = (object["headers"] as? [[String]] ?? []).map { ($0.first ?? "", $0.last ?? "") }
            let parts = (object["parts"] as? [[String: Any]] ?? []).map {
                ($0["content_type"] as? String ?? "", $0["transfer_encoding"] as? String ?? "", $0["content"] as? String ?? "")
            }
            return Message(
                mailFrom: object["mail_from"] as? String ?? "", recipients: object["rcpt_tos"] as? [String] ?? [],
                data: object["data"] as? String ?? "", usedTLS: object["tls"] as? Bool ?? false,
                authenticatedUser: object["auth"] as? String, headers: headers, parts: parts
            )
        }
    }
}
