/// Why a delivery attempt failed, and whether trying again can help.
public struct NotifyError: Error, Sendable, CustomStringConvertible {
    public enum Disposition: Sendable, Equatable {
        /// Worth another attempt (5xx, 429, network, timeout).
        case retryable
        /// Will fail again (other 4xx, a rejected recipient, a bad template).
        case permanent
    }

    public var disposition: Disposition
    /// A stable, low-cardinality label for `nats_alerter_notifications_failed_total{reason}`:
    /// `http_4xx`, `http_5xx`, `http_429`, `network`, `timeout`, `smtp`, `tls`, `config`, `template`.
    public var reason: String
    /// What went wrong, with secrets (URLs, passwords) already redacted.
    public var message: String
    /// From a `Retry-After` header: the earliest the receiver wants another attempt.
    public var retryAfter: Duration?
    /// The HTTP status of the answer, for HTTP receivers.
    public var httpStatus: Int?

    public init(_ disposition: Disposition, reason: String, message: String, retryAfter: Duration? = nil, httpStatus: Int? = nil) {
        self.httpStatus = httpStatus
        self.disposition = disposition
        self.reason = reason
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(reason): \(message)" }
}
