import Foundation
import Hummingbird

/// Refuses requests that change state (any method but GET, HEAD and
/// OPTIONS) when a browser could have been made to send them from another
/// site: a body that is not `application/json` (415; an HTML form or a
/// `fetch` without preflight can only send form or `text/plain` bodies), an
/// `Origin` other than the service's own or `server.allowed_origins` (403),
/// and a `Host` that is not the service's address or in
/// `server.allowed_hosts` (403; a DNS-rebound name).
///
/// Requests without `Origin` or `Host` (curl, amtool over HTTP/1.0) pass
/// those two checks: browsers always send both on a cross-site write.
struct MutationGuard<Context: RequestContext>: RouterMiddleware {
    let server: AlerterConfig.ServerSection

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch request.method {
        case .get, .head, .options:
            return try await next(request, context)
        default:
            try MutationRules(server: server).check(authority: request.head.authority, headers: request.headers)
            return try await next(request, context)
        }
    }
}

/// The checks of ``MutationGuard``, without Hummingbird's request type.
struct MutationRules {
    let server: AlerterConfig.ServerSection

    func check(authority: String?, headers: HTTPFields) throws(APIError) {
        try checkContentType(headers)
        try checkHost(authority)
        if let origin = headers[.origin] { try checkOrigin(origin, authority: authority) }
    }

    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        return mediaType == "application/json"
    }

    func checkContentType(_ headers: HTTPFields) throws(APIError) {
        if let contentType = headers[.contentType] {
            guard Self.isJSON(contentType) else {
                throw APIError(.unsupportedMediaType, "Content-Type \"\(contentType)\" is not accepted: send application/json")
            }
            return
        }
        let length = headers[.contentLength].flatMap { Int($0) } ?? 0
        if length > 0 || headers[.transferEncoding] != nil {
            throw APIError(.unsupportedMediaType, "a request body needs Content-Type: application/json")
        }
    }

    func checkHost(_ authority: String?) throws(APIError) {
        guard let authority, !authority.isEmpty else { return }
        let (name, port) = Self.split(authority.lowercased())
        if !server.allowedHosts.isEmpty {
            let allowed = server.allowedHosts.contains { entry in
                let (entryName, entryPort) = Self.split(entry)
                return entryName == name && (entryPort == nil || entryPort == port)
            }
            guard allowed else {
                throw APIError(.forbidden, "Host \"\(authority)\" is not in server.allowed_hosts (\(server.allowedHosts.joined(separator: ", "))); mutating requests are refused")
            }
            return
        }
        let listenHost = Self.unbracketed(server.host.lowercased())
        if ["", "0.0.0.0", "::"].contains(listenHost) { return }
        var names: Set<String> = [listenHost]
        if Self.isLoopback(listenHost) { names.formUnion(["localhost", "127.0.0.1", "::1"]) }
        guard names.contains(Self.unbracketed(name)), port == nil || port == server.port else {
            throw APIError(.forbidden, "Host \"\(authority)\" is not this service's address (server.listen_address \(server.listenAddress)); mutating requests are refused; list the name in server.allowed_hosts to allow it")
        }
    }

    func checkOrigin(_ origin: String, authority: String?) throws(APIError) {
        let normalized = Self.normalizedOrigin(origin)
        if server.allowedOrigins.contains(normalized) { return }
        if origin != "null", let components = URLComponents(string: normalized), let host = components.host {
            let originAuthority = components.port.map { "\(host):\($0)" } ?? host
            let own = (authority ?? server.listenAddress).lowercased()
            let (ownName, ownPort) = Self.split(own)
            let defaultPort = components.scheme == "https" ? 443 : 80
            if originAuthority == own || (host == ownName && (components.port ?? defaultPort) == (ownPort ?? defaultPort)) { return }
        }
        throw APIError(.forbidden, "Origin \"\(origin)\" may not change this service (same-origin only; list it in server.allowed_origins to allow it)")
    }

    // MARK: helpers

    /// `scheme://host[:port]` lowercased, without a default port or a trailing slash.
    static func normalizedOrigin(_ origin: String) -> String {
        guard var components = URLComponents(string: origin.lowercased()), let scheme = components.scheme else { return origin.lowercased() }
        if (scheme == "http" && components.port == 80) || (scheme == "https" && components.port == 443) { components.port = nil }
        components.path = ""
        return components.string ?? origin.lowercased()
    }

    /// nil when `origin` is `scheme://host[:port]` with scheme http or https; otherwise what is wrong.
    static func originProblem(_ origin: String) -> String? {
        guard let components = URLComponents(string: origin), let scheme = components.scheme?.lowercased(),
              ["http", "https"].contains(scheme), let host = components.host, !host.isEmpty else {
            return "\"\(origin)\" is not an origin (scheme://host[:port], http or https)"
        }
        if !(components.path.isEmpty || components.path == "/") || components.query != nil || components.user != nil {
            return "\"\(origin)\" is not an origin: no path, query or user part"
        }
        return nil
    }

    /// `name` and `port` of `host[:port]`, `[v6]:port` or a bare IPv6 address.
    static func split(_ authority: String) -> (String, Int?) {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return (authority, nil) }
            let name = String(authority[authority.index(after: authority.startIndex)..<close])
            let rest = authority[authority.index(after: close)...]
            return (name, rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil)
        }
        let colons = authority.filter { $0 == ":" }.count
        guard colons == 1, let colon = authority.lastIndex(of: ":") else { return (authority, nil) }
        return (String(authority[..<colon]), Int(authority[authority.index(after: colon)...]))
    }

    static func unbracketed(_ host: String) -> String {
        host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}
