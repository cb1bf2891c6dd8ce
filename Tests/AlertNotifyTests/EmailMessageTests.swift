import AlertCore
@testable import AlertNotify
import AlertTestSupport
import Foundation
import Testing

/// The message the email integration builds, read back as a mail client
/// would: header block, unfolded fields, MIME parts.
@Suite struct EmailMessageTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)  // Fri, 15 Jan 2027 08:00:00 UTC

    static func diskFull(labels: [String: String] = [:], summary: String = "disk /data is 97% full") -> AlertEvent {
        AlertEvent(alertType: "DiskFull", severity: .critical, source: "node-7", summary: summary, labels: labels, subject: "system.error.critical")
    }

    static func notifier(to: String = "oncall@example.com", from: String = "nats-alerter <alerts@example.com>",
                         headers: [String: String] = [:], html: String = "{{> email.html}}", sendResolved: Bool = false) throws -> EmailNotifier {
        EmailNotifier(
            configuration: EmailConfiguration(to: to, from: from, smarthost: "127.0.0.1:25", headers: headers, html: html, sendResolved: sendResolved),
            templates: try TemplateLibrary()
        )
    }

    /// Composes and encodes; fails the test when there is nothing to send.
    static func encode(_ notifier: EmailNotifier, _ notification: AlertCore.Notification, boundary: String = "=_test-boundary")
        throws -> (email: EmailNotifier.ComposedEmail, raw: String, message: ParsedMessage) {
        let email = try #require(try notifier.compose(notification, now: now))
        let raw = email.message.encoded(boundary: boundary)
        return (email, raw, try ParsedMessage(raw))
    }

    @Test func everyRequiredHeaderIsPresentOnceAndWellFormed() throws {
        let (_, raw, message) = try Self.encode(Self.notifier(), makeNotification(firing: [Self.diskFull()]))

        #expect(raw.utf8.allSatisfy { $0 < 128 }, "the message is 7-bit")
        #expect(raw.hasSuffix("\r\n"))
        for line in message.physicalHeaderLines {
            #expect(line.utf8.count <= 78, "header line longer than 78: \(line.debugDescription)")
        }
        for field in message.headers {
            #expect(HeaderField.isValidName(field.name), "\(field.name.debugDescription)")
        }
        for name in ["From", "To", "Subject", "Date", "Message-Id", "MIME-Version", "Content-Type"] {
            #expect(message.values(name).count == 1, "\(name): \(message.values(name))")
        }
        #expect(message.values("From") == ["nats-alerter <alerts@example.com>"])
        #expect(message.values("To") == ["oncall@example.com"])
        #expect(message.values("Subject") == ["[FIRING:1] alertname=DiskFull"])
        #expect(message.values("Date") == ["Fri, 15 Jan 2027 08:00:00 +0000"])
        #expect(message.values("MIME-Version") == ["1.0"])
        let messageID = try #require(message.values("Message-Id").first)
        #expect(messageID.wholeMatch(of: /<[0-9]+\.[0-9a-f-]{36}@example\.com>/) != nil, "\(messageID)")
    }

    @Test func aNonASCIISubjectIsEncodedAsRFC2047WordsThatDecodeBack() throws {
        let subject = "Überhitzung auf Knoten 7 — Lüfter ausgefallen ✗ 温度が高すぎます、すぐに確認してください"
        let (_, raw, message) = try Self.encode(Self.notifier(headers: ["Subject": subject]), makeNotification(firing: [Self.diskFull()]))

        let encoded = try #require(message.values("Subject").first)
        let words = encoded.split(separator: " ").map(String.init)
        #expect(words.count > 1, "a long subject takes several encoded-words: \(encoded)")
        for word in words {
            #expect(word.wholeMatch(of: /=\?UTF-8\?B\?[A-Za-z0-9+\/=]+\?=/) != nil, "not an encoded-word: \(word)")
            #expect(word.count <= 75)
        }
        #expect(try decodeEncodedWords(words) == subject)
        #expect(raw.components(separatedBy: "\r\nSubject:").count == 2)
    }

    @Test func aNonASCIIDisplayNameIsEncodedAndTheAddressIsKept() throws {
        let (_, _, message) = try Self.encode(Self.notifier(from: "Bereitschaft Süd <alerts@example.com>"), makeNotification(firing: [Self.diskFull()]))
        let from = try #require(message.values("From").first)
        let words = from.split(separator: " ").map(String.init)
        #expect(words.last == "<alerts@example.com>")
        #expect(try decodeEncodedWords(Array(words.dropLast())) == "Bereitschaft Süd")
    }

    @Test func bothPartsGoInAMultipartAlternative() throws {
        let (_, _, message) = try Self.encode(Self.notifier(), makeNotification(firing: [Self.diskFull()]))

        #expect(message.values("Content-Type") == ["multipart/alternative; boundary=\"=_test-boundary\""])
        let parts = try message.parts(boundary: "=_test-boundary")
        #expect(parts.map { $0.values("Content-Type") } == [["text/plain; charset=UTF-8"], ["text/html; charset=UTF-8"]])
        #expect(parts.allSatisfy { $0.values("Content-Transfer-Encoding") == ["quoted-printable"] })
        let text = decodeQuotedPrintable(parts[0].body)
        let html = decodeQuotedPrintable(parts[1].body)
        #expect(text.contains("DiskFull on node-7: disk /data is 97% full"), "\(text)")
        #expect(html.contains("<b>DiskFull</b>"), "\(html)")
        #expect(html.contains("disk /data is 97% full"))
    }

    @Test func anEmptyHTMLTemplateLeavesOneTextPart() throws {
        let (_, _, message) = try Self.encode(Self.notifier(html: ""), makeNotification(firing: [Self.diskFull()]))
        #expect(message.values("Content-Type") == ["text/plain; charset=UTF-8"])
        #expect(decodeQuotedPrintable(message.body).contains("FIRING (1)"))
    }

    @Test func quotedPrintableKeepsLinesShortAndDecodesBack() {
        let text = "Ærger på node-7: " + String(repeating: "lang linje med = tegn ", count: 12) + "  \nnæste linje\r\n.dot\tslut "
        let encoded = QuotedPrintable.encode(text)
        for line in encoded.components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 76, "\(line)")
            #expect(!line.hasSuffix(" ") && !line.hasSuffix("\t"), "trailing whitespace: \(line.debugDescription)")
        }
        #expect(encoded.utf8.allSatisfy { $0 < 128 })
        #expect(!encoded.contains("=_"))
        #expect(decodeQuotedPrintable(encoded) == text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n"))
    }

    @Test func aLabelWithCRLFAddsNeitherAHeaderNorARecipient() throws {
        let evil = "x\r\nBcc: evil@example.com"
        let notification = makeNotification(firing: [Self.diskFull(labels: ["team": evil], summary: "s\r\nBcc: evil2@example.com")], groupBy: ["alertname", "team"])
        let notifier = try Self.notifier(headers: ["X-Team": "{{commonLabels.team}}", "Subject": "{{groupLabels.team}} {{commonAnnotations.summary}}"])
        let (email, raw, message) = try Self.encode(notifier, notification)

        #expect(email.recipients.map(\.address) == ["oncall@example.com"])
        #expect(message.headers.map(\.name) == ["From", "To", "Subject", "Date", "Message-Id", "X-Team", "MIME-Version", "Content-Type"])
        #expect(message.values("Bcc").isEmpty)
        #expect(message.values("X-Team") == ["x  Bcc: evil@example.com"])
        #expect(message.values("Subject") == ["x  Bcc: evil@example.com s  Bcc: evil2@example.com"])
        let headerBlock = try #require(raw.components(separatedBy: "\r\n\r\n").first)
        #expect(!headerBlock.contains("\r\nBcc"), "\(headerBlock)")
        #expect(!raw.replacingOccurrences(of: "\r\n", with: "").contains("\r") && !raw.replacingOccurrences(of: "\r\n", with: "").contains("\n"),
                "no bare CR or LF anywhere")
    }

    @Test(arguments: [
        "{{commonLabels.team}}@example.com",  // the label's CRLF lands in the address
        "oncall@example.com\r\nBcc: evil@example.com",
        "oncall@example.com evil@example.com",
        "oncall",
        "on call@example.com",
        "oncall@exa_mple.com",
        "\"quoted\"@example.com",
        "Ops <oncall@example.com> evil@example.com",
        "a@b@example.com",
        "ünïcode@example.com",
        " , ",
    ])
    func anInvalidRecipientIsRejectedPermanently(to: String) throws {
        let notification = makeNotification(firing: [Self.diskFull(labels: ["team": "x\r\nBcc: evil@example.com"])])
        let notifier = try Self.notifier(to: to)
        do {
            let composed = try notifier.compose(notification, now: Self.now)
            Issue.record("accepted \(to.debugDescription) as \(composed?.recipients ?? [])")
        } catch {
            #expect(error.disposition == .permanent)
            #expect(error.reason == "config")
            #expect(!error.message.contains("\r\n"), "the error quotes the value escaped: \(error.message)")
        }
    }

    @Test func recipientsAreExactlyTheParsedList() throws {
        let notifier = try Self.notifier(to: "oncall@example.com, \"Ops, EU\" <ops-eu@example.com>,, Bob <bob@[192.0.2.1]>,")
        let (email, _, message) = try Self.encode(notifier, makeNotification(firing: [Self.diskFull()]))
        #expect(email.recipients.map(\.address) == ["oncall@example.com", "ops-eu@example.com", "bob@[192.0.2.1]"])
        #expect(message.values("To") == ["oncall@example.com, \"Ops, EU\" <ops-eu@example.com>, Bob <bob@[192.0.2.1]>"])
    }

    @Test func aConfiguredToHeaderIsShownButAddsNoRecipient() throws {
        let notifier = try Self.notifier(headers: ["to": "Everyone <all@example.com>"])
        let (email, _, message) = try Self.encode(notifier, makeNotification(firing: [Self.diskFull()]))
        #expect(email.recipients.map(\.address) == ["oncall@example.com"])
        #expect(message.values("To") == ["Everyone <all@example.com>"])
    }

    @Test(arguments: ["Bad Name", "X-Colon:", "Content-Type", "mime-version", "Bcc", ""])
    func aBadConfiguredHeaderNameIsRejected(name: String) throws {
        #expect(throws: NotifyError.self) {
            try Self.notifier(headers: [name: "value"]).compose(makeNotification(firing: [Self.diskFull()]), now: Self.now)
        }
    }

    @Test func onlyResolvedAlertsWithoutSendResolvedSendNothing() throws {
        let notification = makeNotification(firing: [], resolved: [Self.diskFull()], sendResolved: true)
        #expect(try Self.notifier(sendResolved: false).compose(notification, now: Self.now) == nil)
        let (_, _, message) = try Self.encode(Self.notifier(sendResolved: true), notification)
        #expect(message.values("Subject") == ["[RESOLVED] alertname=DiskFull"])
    }

    @Test func aTemplateErrorIsPermanent() throws {
        let notifier = try Self.notifier(headers: ["Subject": "{{#unclosed}}"])
        do {
            _ = try notifier.compose(makeNotification(firing: [Self.diskFull()]), now: Self.now)
            Issue.record("rendered an unparsable template")
        } catch {
            #expect(error.disposition == .permanent && error.reason == "template")
        }
    }
}

/// How the transport turns the configuration into libcurl's request.
@Suite struct SMTPRequestTests {
    static let sender = EmailAddress(address: "alerts@example.com")
    static let recipients = [EmailAddress(address: "a@example.com"), EmailAddress(displayName: "B", address: "b@example.com")]

    func request(_ configuration: EmailConfiguration) throws -> SMTPRequest {
        try SMTPTransport(configuration: configuration).makeRequest(message: "m", sender: Self.sender, recipients: Self.recipients, password: "pw")
    }

    @Test func plainPortUsesSMTPWithTheHelloNameAsPath() throws {
        let request = try request(EmailConfiguration(to: "", from: "", smarthost: "mail.example.com:587", hello: "alerter.example.com", timeout: .milliseconds(2500)))
        #expect(request.url == "smtp://mail.example.com:587/alerter.example.com")
        #expect(request.requireTLS)
        #expect(request.connectTo == nil)
        #expect(request.mailFrom == "<alerts@example.com>")
        #expect(request.recipients == ["<a@example.com>", "<b@example.com>"])
        #expect(request.timeoutMilliseconds == 2500)
    }

    @Test func port465IsImplicitTLS() throws {
        #expect(try request(EmailConfiguration(to: "", from: "", smarthost: "mail.example.com:465")).url == "smtps://mail.example.com:465/localhost")
    }

    @Test func serverNameGoesInTheURLAndTheConnectionToTheSmarthost() throws {
        let request = try request(EmailConfiguration(to: "", from: "", smarthost: "[::1]:2525", tls: TLSSettings(serverName: "smtp.test")))
        #expect(request.url == "smtp://smtp.test:2525/localhost")
        #expect(request.connectTo == "smtp.test:2525:[::1]:2525")
    }

    @Test func aHelloNameCannotAddSMTPCommands() throws {
        let request = try request(EmailConfiguration(to: "", from: "", smarthost: "h:25", hello: "x\r\nRCPT TO:<evil@example.com>"))
        #expect(request.url == "smtp://h:25/x%0D%0ARCPT%20TO%3A%3Cevil%40example.com%3E")
    }

    @Test(arguments: ["mail.example.com", "mail.example.com:0", "mail.example.com:smtp", ":25", "ma il:25", "[zz]:25", "a/b:25"])
    func anInvalidSmarthostIsAConfigurationError(smarthost: String) {
        #expect(throws: NotifyError.self) { try SMTPTransport(configuration: EmailConfiguration(to: "", from: "", smarthost: smarthost)) }
    }
}

// MARK: Reading messages back (independent of the code under test)

/// A message split into header fields (unfolded) and body.
struct ParsedMessage {
    var physicalHeaderLines: [String]
    var headers: [(name: String, value: String)]
    var body: String

    init(_ raw: String) throws {
        let (head, body) = try Self.split(raw)
        self.body = body
        physicalHeaderLines = head.components(separatedBy: "\r\n")
        headers = []
        for line in physicalHeaderLines {
            if line.hasPrefix(" ") || line.hasPrefix("\t") {
                try #require(!headers.isEmpty, "a continuation line first")
                headers[headers.count - 1].value += line
            } else {
                let colon = try #require(line.firstIndex(of: ":"), "not a header line: \(line.debugDescription)")
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        headers = headers.map { ($0.name, $0.value.trimmingCharacters(in: .whitespaces)) }
    }

    func values(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// The parts of a multipart body.
    func parts(boundary: String) throws -> [ParsedMessage] {
        let sections = body.components(separatedBy: "\r\n--\(boundary)")
        try #require(sections.count >= 2, "no boundary in the body")
        try #require(sections.last!.hasPrefix("--\r\n"), "no closing boundary")
        return try sections.dropFirst().dropLast().map { section in
            try #require(section.hasPrefix("\r\n"))
            return try ParsedMessage(String(Substring(section.utf8.dropFirst(2))))
        }
    }

    private static func split(_ raw: String) throws -> (String, String) {
        let range = try #require(raw.range(of: "\r\n\r\n"), "no blank line after the headers")
        return (String(raw[..<range.lowerBound]), String(raw[range.upperBound...]))
    }
}

func decodeQuotedPrintable(_ text: String) -> String {
    var bytes: [UInt8] = []
    var input = Array(text.replacingOccurrences(of: "=\r\n", with: "").utf8)[...]
    while let byte = input.popFirst() {
        if byte == UInt8(ascii: "="), input.count >= 2, let value = UInt8(String(decoding: input.prefix(2), as: UTF8.self), radix: 16) {
            bytes.append(value)
            input = input.dropFirst(2)
        } else {
            bytes.append(byte)
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

func decodeEncodedWords(_ words: [String]) throws -> String {
    var bytes: [UInt8] = []
    for word in words {
        let match = try #require(word.wholeMatch(of: /=\?UTF-8\?B\?([A-Za-z0-9+\/=]*)\?=/))
        bytes += try #require(Data(base64Encoded: String(match.1)))
    }
    return String(decoding: bytes, as: UTF8.self)
}
