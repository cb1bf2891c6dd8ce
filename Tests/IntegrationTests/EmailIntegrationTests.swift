import AlertCore
import AlertNotify
import AlertTestSupport
import Foundation
import Testing

/// The email integration against a real SMTP server (aiosmtpd), as an
/// operator would set it up: STARTTLS with a private CA, AUTH, a relay
/// without TLS, a server that is down or refuses a recipient.
@Suite(.serialized) struct EmailIntegrationTests {
    static let serverName = "smtp.test"

    static func diskFull(labels: [String: String] = [:]) -> AlertEvent {
        AlertEvent(alertType: "DiskFull", severity: .critical, source: "node-7", summary: "disk /data is 97% full",
                   labels: labels, subject: "system.error.critical")
    }

    static func configuration(_ server: SMTPServer, to: String = "oncall@example.com, Ops <ops@example.com>", requireTLS: Bool = true,
                              username: String? = nil, password: Secret? = nil, tls: TLSSettings = TLSSettings(),
                              headers: [String: String] = [:]) -> EmailConfiguration {
        EmailConfiguration(to: to, from: "nats-alerter <alerts@example.com>", smarthost: server.smarthost, hello: "alerter.example.com",
                           authUsername: username, authPassword: password, requireTLS: requireTLS, tls: tls, headers: headers,
                           timeout: .seconds(10))
    }

    static func send(_ configuration: EmailConfiguration, _ notification: AlertCore.Notification) async throws(NotifyError) {
        try await EmailNotifier(configuration: configuration, templates: try! TemplateLibrary()).send(notification)
    }

    /// Sends and returns the error, failing the test when the send succeeds.
    static func failure(_ configuration: EmailConfiguration, _ notification: AlertCore.Notification) async -> NotifyError? {
        do {
            try await send(configuration, notification)
            Issue.record("the send succeeded")
            return nil
        } catch {
            return error
        }
    }

    /// The one message the server got (waiting for it to be written).
    static func onlyMessage(_ server: SMTPServer) async throws -> SMTPServer.Message {
        _ = await waitUntil(timeout: .seconds(5)) { !server.messages.isEmpty }
        let messages = server.messages
        try #require(messages.count == 1, "messages received: \(messages.count)")
        return messages[0]
    }

    @Test func startTLSWithAuthAndAPrivateCADeliversBothPartsToExactlyTheRecipients() async throws {
        let directory = try makeTemporaryDirectory("email-starttls")
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificates = try TestCertificates(directory: directory, serverName: Self.serverName)
        let server = try await SMTPServer(directory: directory, startTLS: (certificates.serverCertificate, certificates.serverKey), auth: "alerter:s3cret")
        let subject = "Überhitzung auf Knoten 7 — Lüfter ausgefallen"
        let configuration = Self.configuration(
            server, username: "alerter", password: .inline("s3cret"),
            tls: TLSSettings(caFile: certificates.caCertificate.path, serverName: Self.serverName), headers: ["Subject": subject]
        )

        try await Self.send(configuration, makeNotification(firing: [Self.diskFull()]))

        let message = try await Self.onlyMessage(server)
        #expect(message.usedTLS)
        #expect(message.authenticatedUser == "alerter")
        #expect(message.mailFrom == "alerts@example.com")
        #expect(message.recipients == ["oncall@example.com", "ops@example.com"])
        #expect(message.header("From") == ["nats-alerter <alerts@example.com>"])
        #expect(message.header("To") == ["oncall@example.com, Ops <ops@example.com>"])
        #expect(message.header("Subject") == [subject], "decoded by Python's email package")
        #expect(message.header("Date").count == 1 && message.header("Message-Id").count == 1 && message.header("MIME-Version") == ["1.0"])
        #expect(message.parts.map(\.contentType) == ["text/plain", "text/html"])
        #expect(message.parts.map(\.transferEncoding) == ["quoted-printable", "quoted-printable"])
        #expect(message.parts.first?.content.contains("DiskFull on node-7: disk /data is 97% full") == true)
        #expect(message.parts.last?.content.contains("<b>DiskFull</b>") == true)
    }

    @Test func theCertificateIsCheckedAgainstTheServerName() async throws {
        let directory = try makeTemporaryDirectory("email-verify")
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificates = try TestCertificates(directory: directory, serverName: Self.serverName)
        let server = try await SMTPServer(directory: directory, startTLS: (certificates.serverCertificate, certificates.serverKey))
        let notification = makeNotification(firing: [Self.diskFull()])

        // Connecting to 127.0.0.1 without server_name: the certificate names only smtp.test.
        let wrongName = await Self.failure(Self.configuration(server, tls: TLSSettings(caFile: certificates.caCertificate.path)), notification)
        #expect(wrongName?.disposition == .permanent && wrongName?.reason == "tls", "\(String(describing: wrongName))")
        // The right name, but the system CAs do not know the test CA.
        let unknownCA = await Self.failure(Self.configuration(server, tls: TLSSettings(serverName: Self.serverName)), notification)
        #expect(unknownCA?.disposition == .permanent && unknownCA?.reason == "tls", "\(String(describing: unknownCA))")
        #expect(server.messages.isEmpty)

        try await Self.send(Self.configuration(server, tls: TLSSettings(serverName: Self.serverName, insecureSkipVerify: true)), notification)
        #expect(try await Self.onlyMessage(server).usedTLS)
    }

    @Test func aWrongPasswordIsPermanentAndNeverQuotedAndARotatedPasswordFileIsReadOnTheNextSend() async throws {
        let directory = try makeTemporaryDirectory("email-auth")
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificates = try TestCertificates(directory: directory, serverName: Self.serverName)
        let server = try await SMTPServer(directory: directory, startTLS: (certificates.serverCertificate, certificates.serverKey), auth: "alerter:s3cret")
        let passwordFile = directory.appendingPathComponent("smtp-password")
        try "wr0ng-pa55word\n".write(to: passwordFile, atomically: true, encoding: .utf8)
        let configuration = Self.configuration(
            server, username: "alerter", password: .file(passwordFile.path),
            tls: TLSSettings(caFile: certificates.caCertificate.path, serverName: Self.serverName)
        )
        let notification = makeNotification(firing: [Self.diskFull()])

        let error = await Self.failure(configuration, notification)
        #expect(error?.disposition == .permanent && error?.reason == "smtp", "\(String(describing: error))")
        #expect(error?.message.contains("wr0ng-pa55word") == false)
        #expect(server.messages.isEmpty)

        try "s3cret\n".write(to: passwordFile, atomically: true, encoding: .utf8)
        try await Self.send(configuration, notification)
        #expect(try await Self.onlyMessage(server).authenticatedUser == "alerter")
    }

    @Test func aServerWithoutSTARTTLSIsRefusedWhenTLSIsRequiredAndUsedWhenNot() async throws {
        let directory = try makeTemporaryDirectory("email-plain")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await SMTPServer(directory: directory)
        let notification = makeNotification(firing: [Self.diskFull()])

        let error = await Self.failure(Self.configuration(server, requireTLS: true), notification)
        #expect(error?.disposition == .permanent, "\(String(describing: error))")
        #expect(error?.reason == "tls")
        #expect(error?.message.contains("does not offer STARTTLS and require_tls is true") == true, "\(String(describing: error))")
        #expect(server.messages.isEmpty)

        try await Self.send(Self.configuration(server, requireTLS: false), notification)
        let message = try await Self.onlyMessage(server)
        #expect(!message.usedTLS)
        #expect(message.recipients == ["oncall@example.com", "ops@example.com"])
    }

    @Test func aLabelWithCRLFReachesNeitherTheHeadersNorTheEnvelope() async throws {
        let directory = try makeTemporaryDirectory("email-injection")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await SMTPServer(directory: directory)
        let evil = "x\r\nBcc: evil@example.com"
        let notification = makeNotification(firing: [Self.diskFull(labels: ["team": evil])], groupBy: ["alertname", "team"])
        let configuration = Self.configuration(server, requireTLS: false, headers: ["X-Team": "{{commonLabels.team}}"])

        try await Self.send(configuration, notification)

        let message = try await Self.onlyMessage(server)
        #expect(message.recipients == ["oncall@example.com", "ops@example.com"])
        #expect(message.header("Bcc").isEmpty)
        #expect(message.headers.map(\.name) == ["From", "To", "Subject", "Date", "Message-Id", "X-Team", "MIME-Version", "Content-Type"])
        #expect(message.header("X-Team") == ["x  Bcc: evil@example.com"])
        let headerBlock = message.data.components(separatedBy: "\r\n\r\n").first ?? ""
        #expect(!headerBlock.split(separator: "\r\n").contains { $0.lowercased().hasPrefix("bcc") }, "\(headerBlock)")
    }

    @Test func aServerThatIsDownIsWorthRetrying() async throws {
        let directory = try makeTemporaryDirectory("email-down")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await SMTPServer(directory: directory)
        await server.process.stop()
        try #require(await waitUntil { !isListening(server.port) }, "the SMTP server still listens")

        let error = await Self.failure(Self.configuration(server, requireTLS: false), makeNotification(firing: [Self.diskFull()]))
        #expect(error?.disposition == .retryable, "\(String(describing: error))")
        #expect(error?.reason == "network")
    }

    @Test func aRejectedRecipientIsPermanentOn5xxAndRetryableOn4xx() async throws {
        let directory = try makeTemporaryDirectory("email-rcpt")
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await SMTPServer(directory: directory, rejectRecipients: ["gone@example.com:550", "busy@example.com:451"])
        let notification = makeNotification(firing: [Self.diskFull()])

        let gone = await Self.failure(Self.configuration(server, to: "oncall@example.com, gone@example.com", requireTLS: false), notification)
        #expect(gone?.disposition == .permanent && gone?.reason == "smtp", "\(String(describing: gone))")
        #expect(gone?.message.contains("550") == true)
        let busy = await Self.failure(Self.configuration(server, to: "busy@example.com", requireTLS: false), notification)
        #expect(busy?.disposition == .retryable && busy?.reason == "smtp", "\(String(describing: busy))")
        #expect(server.messages.isEmpty, "one refused recipient stops the whole message")
    }
}
