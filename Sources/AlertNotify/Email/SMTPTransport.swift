import AlertCore
import CCurl
import Foundation

/// Delivers a finished message to the configured smarthost with libcurl.
///
/// - `host:465` is SMTPS (implicit TLS); any other port is SMTP with STARTTLS,
///   required when `require_tls` is true (libcurl then refuses a server that
///   does not offer it) and used when offered otherwise.
/// - `tls_config.server_name` is put in the URL, so libcurl sends it as SNI
///   and checks the certificate against it, and `CURLOPT_CONNECT_TO` maps it
///   to the smarthost's host and port, so the connection still goes there
///   (no DNS lookup of the server name, unlike `CURLOPT_RESOLVE`, which would
///   need the smarthost's address up front).
/// - `hello` is the URL's path: libcurl sends the path as the EHLO name.
///
/// Threading: `send` runs the blocking transfer on a thread of its own and
/// suspends until it ends (at most `timeout`).
struct SMTPTransport: Sendable {
    let configuration: EmailConfiguration
    private let host: String
    private let port: Int

    init(configuration: EmailConfiguration) throws(NotifyError) {
        self.configuration = configuration
        (host, port) = try Self.parseSmarthost(configuration.smarthost)
    }

    /// What operators see for the server: `host:port`.
    var endpoint: String { "\(host):\(port)" }

    /// Sends `message` from `sender` to exactly `recipients` (the envelope;
    /// header fields play no part). `password` is the current value of the
    /// auth secret and never appears in an error.
    func send(_ message: String, from sender: EmailAddress, to recipients: [EmailAddress], password: String?) async throws(NotifyError) {
        let request = try makeRequest(message: message, sender: sender, recipients: recipients, password: password)
        let outcome = await runBlocking("SMTP transfer") { CurlSMTPTransfer.perform(request) }
        if let error = Self.error(for: outcome, endpoint: endpoint, password: password) { throw error }
    }

    func makeRequest(message: String, sender: EmailAddress, recipients: [EmailAddress], password: String?) throws(NotifyError) -> SMTPRequest {
        let tls = configuration.tls
        var urlHost = host
        var connectTo: String?
        if let serverName = tls.serverName, !serverName.isEmpty, serverName != host {
            guard serverName.utf8.allSatisfy({ Self.hostNameCharacters.contains($0) }) else {
                throw NotifyError(.permanent, reason: "config", message: "tls_config.server_name \(serverName.debugDescription) is not a host name")
            }
            urlHost = serverName
            connectTo = "\(serverName):\(port):\(host):\(port)"
        }
        let scheme = port == 465 ? "smtps" : "smtp"
        let hello = configuration.hello.addingPercentEncoding(withAllowedCharacters: Self.unreservedCharacters) ?? ""
        let timeout = configuration.timeout.components
        return SMTPRequest(
            url: "\(scheme)://\(urlHost):\(port)/\(hello)",
            connectTo: connectTo,
            requireTLS: configuration.requireTLS,
            mailFrom: "<\(sender.address)>",
            recipients: recipients.map { "<\($0.address)>" },
            message: Array(message.utf8),
            username: configuration.authUsername.flatMap { $0.isEmpty ? nil : $0 },
            password: password,
            authorizationIdentity: configuration.authIdentity.flatMap { $0.isEmpty ? nil : $0 },
            caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile,
            insecureSkipVerify: tls.insecureSkipVerify,
            timeoutMilliseconds: max(1, Int(timeout.seconds) * 1000 + Int(timeout.attoseconds / 1_000_000_000_000_000))
        )
    }

    // MARK: Errors

    /// What a failed transfer means for the next attempt; nil on success.
    ///
    /// SMTP's own verdict wins where the server gave one (5xx permanent, 4xx
    /// worth retrying); then TLS, network and timeout failures by libcurl's code.
    static func error(for outcome: SMTPTransferOutcome, endpoint: String, password: String?) -> NotifyError? {
        guard !outcome.succeeded else { return nil }
        var detail = outcome.detail
        if let password, !password.isEmpty { detail = detail.replacingOccurrences(of: password, with: "<secret>") }
        let reply = outcome.responseCode
        let code = outcome.code
        func failure(_ disposition: NotifyError.Disposition, _ reason: String, _ text: String) -> NotifyError {
            NotifyError(disposition, reason: reason, message: "smtp \(endpoint): \(text)")
        }
        switch code {
        case CURLE_USE_SSL_FAILED:
            return failure(.permanent, "tls", "server does not offer STARTTLS and require_tls is true (\(detail))")
        case CURLE_OPERATION_TIMEDOUT:
            return failure(.retryable, "timeout", detail)
        default:
            break
        }
        if (500...599).contains(reply) {
            return failure(.permanent, "smtp", "server answered \(reply): \(detail)")
        }
        if (400...499).contains(reply) {
            return failure(.retryable, "smtp", "server answered \(reply): \(detail)")
        }
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
             CURLE_GOT_NOTHING, CURLE_WEIRD_SERVER_REPLY, CURLE_OUT_OF_MEMORY:
            return failure(.retryable, "network", detail)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR:
            return failure(.permanent, "tls", detail)
        case CURLE_SSL_CONNECT_ERROR:
            return failure(.retryable, "tls", detail)
        case CURLE_LOGIN_DENIED:
            return failure(.permanent, "smtp", "authentication failed: \(detail)")
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT, CURLE_UNKNOWN_OPTION, CURLE_NOT_BUILT_IN, CURLE_BAD_FUNCTION_ARGUMENT:
            return failure(.permanent, "config", detail)
        default:
            return failure(.retryable, "smtp", detail)
        }
    }

    // MARK: Smarthost

    private static let hostNameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-".utf8)
    private static let unreservedCharacters = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    /// `host:port` or `[v6]:port`; the host keeps its brackets (as URLs want them).
    static func parseSmarthost(_ smarthost: String) throws(NotifyError) -> (host: String, port: Int) {
        let invalid = NotifyError(.permanent, reason: "config", message: "smarthost \(smarthost.debugDescription) is not host:port")
        guard let colon = smarthost.lastIndex(of: ":"), let port = Int(smarthost[smarthost.index(after: colon)...]),
              (1...65535).contains(port) else { throw invalid }
        let host = String(smarthost[..<colon])
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? host.dropFirst().dropLast() : Substring(host)
        let allowed = host.hasPrefix("[") ? Set("0123456789abcdefABCDEF:.".utf8) : hostNameCharacters
        guard !bare.isEmpty, bare.utf8.allSatisfy(allowed.contains) else { throw invalid }
        return (host, port)
    }
}
