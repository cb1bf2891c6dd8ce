import Foundation
import Hummingbird

/// Lets a request that changes state (any method but GET, HEAD and OPTIONS)
/// through only with `Authorization: Bearer <token>`, or the web UI's session
/// cookie carrying the same token (`UISession`), when
/// `server.api_token_file` is set; reads need no token.
///
/// `APIRouter.build` puts it in front of every route collection, so a new
/// mutating endpoint is covered without asking for it. The file is read on
/// each such request, so a rotated token applies at once; a file that cannot
/// be read, or is empty, answers 500 rather than leaving the API open. The
/// comparison takes the same time wherever the tokens differ.
struct BearerTokenAuthenticator<Context: RequestContext>: RouterMiddleware {
    let runtime: Alerter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        switch request.method {
        case .get, .head, .options:
            return try await next(request, context)
        default:
            try authenticate(authorization: request.headers[.authorization], cookie: request.cookies[UISession.cookieName]?.value)
            return try await next(request, context)
        }
    }

    /// Passes when either the header or the cookie carries the token.
    func authenticate(authorization: String?, cookie: String? = nil) throws(APIError) {
        guard let file = runtime.config.server.apiTokenFile else { return }
        guard let token = try? String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
            throw APIError(.internalServerError, "the API token file cannot be read")
        }
        let presented = authorization ?? ""
        if presented.hasPrefix("Bearer "), Self.constantTimeEqual(String(presented.dropFirst(7)), token) { return }
        if let cookie, let carried = UISession.token(fromCookie: cookie), Self.constantTimeEqual(carried, token) { return }
        throw APIError(.unauthorized, "this endpoint needs Authorization: Bearer <token> (server.api_token_file)")
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = x.count ^ y.count
        for index in 0..<max(x.count, y.count) {
            difference |= Int((index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0))
        }
        return difference == 0
    }
}
