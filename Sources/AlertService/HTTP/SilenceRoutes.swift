import AlertCore
import Foundation
import Hummingbird
import NIOCore

/// Alertmanager's silence endpoints under `api/v2`: list and create
/// (`silences`), show and expire (`silence/{id}`). Writes pass
/// `BearerTokenAuthenticator` first (`APIRouter.build`).
/// Thread-safe: a value over the runtime, which is `Sendable`.
struct SilenceRoutes {
    let runtime: Alerter
    /// The `server` section at start: its limits change only on restart, as reload notes say.
    let server: AlerterConfig.ServerSection

    init(runtime: Alerter) {
        self.runtime = runtime
        self.server = runtime.config.server
    }

    var collection: RouteCollection<APIRequestContext> {
        let routes = RouteCollection(context: APIRequestContext.self)
        routes.get("silences", use: list)
        routes.post("silences", use: create)
        routes.get("silence/:id", use: show)
        routes.delete("silence/:id", use: expire)
        return routes
    }

    var writes: SilenceWrites { SilenceWrites(runtime: runtime, limits: server.limits) }

    func list(_ request: Request, context: APIRequestContext) throws -> [GettableSilence] {
        try writes.list(filter: request.uri.queryParameters.getAll("filter"))
    }

    /// Creates a silence, or updates the one named by `id` (`SilenceWrites.create`).
    func create(_ request: Request, context: APIRequestContext) async throws -> PostSilenceResponse {
        try writes.create(try await collectBody(request))
    }

    func show(_ request: Request, context: APIRequestContext) throws -> GettableSilence {
        try writes.show(id: try context.parameters.require("id"))
    }

    func expire(_ request: Request, context: APIRequestContext) throws -> Response {
        try writes.expire(id: try context.parameters.require("id"))
        return Response(status: .ok)
    }

    /// The body, up to `server.max_request_body_bytes`; 413 past it.
    func collectBody(_ request: Request) async throws -> Data {
        let limit = server.maxRequestBodyBytes
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Data(buffer: buffer)
        } catch {
            throw APIError(.contentTooLarge, "the request body is larger than \(limit) bytes (server.max_request_body_bytes)")
        }
    }
}
