import Foundation

/// An RFC 5322 message with a text and an HTML body: the header fields in
/// order, then `MIME-Version: 1.0` and either `multipart/alternative` with
/// both parts or the one part that is not empty. Bodies are UTF-8,
/// quoted-printable; every line ends in CRLF (SMTP's line ending; libcurl adds
/// the dot-stuffing and the final `.`).
struct EmailMessage: Sendable {
    var headers: [HeaderField]
    var text: String
    var html: String

    /// Header names nats-alerter writes itself for the MIME structure; a
    /// configured header may not replace them.
    static let mimeHeaderNames: Set<String> = ["mime-version", "content-type", "content-transfer-encoding"]

    init(headers: [HeaderField], text: String, html: String) {
        self.headers = headers
        self.text = text
        self.html = html
    }

    /// The message as sent. `boundary` separates the parts; quoted-printable
    /// output never contains `=_`, so a boundary starting with it is safe.
    func encoded(boundary: String = "=_nats-alerter_" + UUID().uuidString) -> String {
        var message = headers.map(\.encoded).joined()
        message += "MIME-Version: 1.0\r\n"
        let parts = [("text/plain", text), ("text/html", html)].filter { !$0.1.isEmpty }
        guard parts.count == 2 else {
            let (type, body) = parts.first ?? ("text/plain", "")
            return message + Self.part(type: type, body: body)
        }
        message += "Content-Type: multipart/alternative; boundary=\"\(boundary)\"\r\n\r\n"
        message += "This is a multi-part message in MIME format.\r\n"
        for (type, body) in parts {
            message += "--\(boundary)\r\n" + Self.part(type: type, body: body) + "\r\n"
        }
        return message + "--\(boundary)--\r\n"
    }

    /// A part's (or a single-part message's) content headers, blank line and body.
    private static func part(type: String, body: String) -> String {
        "Content-Type: \(type); charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + QuotedPrintable.encode(body)
    }

    /// RFC 5322 §3.3 date-time in UTC: `Fri, 15 Jan 2027 08:00:00 +0000`.
    static func dateHeaderValue(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.weekday, .day, .month, .year, .hour, .minute, .second], from: date)
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int?) -> String { value.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(weekdays[parts.weekday! - 1]), \(two(parts.day)) \(months[parts.month! - 1]) \(parts.year!) "
            + "\(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0000"
    }

    /// A globally unique `<…@domain>` id (RFC 5322 §3.6.4).
    static func messageID(date: Date, domain: Substring) -> String {
        "<\(Int64(date.timeIntervalSince1970)).\(UUID().uuidString.lowercased())@\(domain)>"
    }
}
