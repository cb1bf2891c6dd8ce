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

    func list(_ request: Request, context: APIRequestContext) throws -> [GettableSilence] {
        let filter = try AlertQuery.matchers(request.uri.queryParameters.getAll("filter"))
        let now = runtime.clock.now()
        return runtime.silencer.list(at: now, matching: filter).map { GettableSilence($0, now: now) }
    }

    /// Creates a silence, or updates the one named by `id`; refused with 400
    /// past `server.limits.max_silences` unless it updates a live silence.
    func create(_ request: Request, context: APIRequestContext) async throws -> PostSilenceResponse {
        let body = try await collectBody(request)
        let limits = server.limits
        let silence = try APIJSON.postableSilence(body, limits: limits)
        if limits.maxSilences > 0 {
            let now = runtime.clock.now()
            let updatesLive = runtime.silencer.silence(id: silence.id).map { $0.state(at: now) != .expired } ?? false
            let held = runtime.silencer.count(at: now).values.reduce(0, +)
            if !updatesLive && held >= limits.maxSilences {
                throw APIError(.badRequest, "too many silences: \(held) held, expired ones included (limit: \(limits.maxSilences), server.limits.max_silences); expired silences are removed after their retention")
            }
        }
        do throws(SilenceError) {
            return PostSilenceResponse(silenceID: try runtime.silencer.upsert(silence, now: runtime.clock.now()))
        } catch {
            throw APIError(error)
        }
    }

    func show(_ request: Request, context: APIRequestContext) throws -> GettableSilence {
        let id = try context.parameters.require("id")
        guard let silence = runtime.silencer.silence(id: id) else { throw APIError(.notFound, "silence \(id) not found") }
        return GettableSilence(silence, now: runtime.clock.now())
    }

    func expire(_ request: Request, context: APIRequestContext) throws -> Response {
        let id = try context.parameters.require("id")
        do throws(SilenceError) {
            try runtime.silencer.expire(id: id, now: runtime.clock.now())
        } catch where error.kind == .alreadyExpired {
            // Alertmanager answers 200: the silence is expired, as asked.
        } catch {
            throw APIError(error)
        }
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
