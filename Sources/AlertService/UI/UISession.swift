import Foundation
import Hummingbird

/// The web UI's hold on the API token: when `server.api_token_file` is set,
/// the browser presents the token once (`POST /ui/session` with
/// `Authorization: Bearer <token>`, checked by `BearerTokenAuthenticator`
/// like any write) and gets it back as an `HttpOnly; SameSite=Strict; Path=/`
/// cookie, which the authenticator accepts in place of the header. Scripts
/// cannot read the cookie, and `MutationGuard`'s Origin, Host and
/// Content-Type checks still apply to every write, so another site cannot
/// make the browser use it (docs/ARCHITECTURE.md, Web UI).
enum UISession {
    static let cookieName = "nats_alerter_token"

    enum State: Equatable {
        /// No token is configured: writes need none.
        case open
        case authorized
        case tokenNeeded
    }

    /// The cookie's value: the token's UTF-8 bytes in hex (any token fits a cookie value that way).
    static func cookieValue(for token: String) -> String {
        token.utf8.map { String(format: "%02x", $0) }.joined()
    }

    /// The token a cookie value carries, or nil when it is not one of ours.
    static func token(fromCookie value: String) -> String? {
        func nibble(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        let digits = Array(value.utf8)
        guard digits.count.isMultiple(of: 2), digits.count <= 8192 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Whether this request's cookie carries the token; a token file that cannot be read counts as not authorized.
    static func state(of request: Request, runtime: Alerter) -> State {
        guard runtime.config.server.apiTokenFile != nil else { return .open }
        let authenticator = BearerTokenAuthenticator<APIRequestContext>(runtime: runtime)
        guard let cookie = request.cookies[cookieName]?.value,
              (try? authenticator.authenticate(authorization: nil, cookie: cookie)) != nil else { return .tokenNeeded }
        return .authorized
    }

    /// `POST /ui/session`: sets the cookie from the `Authorization` header.
    /// The authenticator has let the request through, but on the header or
    /// on a cookie: the header is checked again, so a wrong token never
    /// replaces a good cookie.
    static func create(_ request: Request, runtime: Alerter) throws(APIError) -> Response {
        var response = Response(status: .noContent)
        guard runtime.config.server.apiTokenFile != nil else { return response }
        let authorization = request.headers[.authorization]
        try BearerTokenAuthenticator<APIRequestContext>(runtime: runtime).authenticate(authorization: authorization)
        guard let authorization else { return response }
        response.setCookie(Cookie(name: cookieName, value: cookieValue(for: String(authorization.dropFirst(7))), path: "/",
                                  secure: runtime.listenerTLS != nil, httpOnly: true, sameSite: .strict))
        return response
    }
}
