import Hummingbird
import NIOCore

/// The service's own endpoints: liveness, readiness, Prometheus metrics,
/// configuration reload, and Alertmanager's `GET /api/v2/status`.
/// Thread-safe: a value over the runtime and metrics, both `Sendable`.
struct AdminRoutes {
    let runtime: Alerter
    let metrics: AlerterMetrics

    var collection: RouteCollection<APIRequestContext> {
        let routes = RouteCollection(context: APIRequestContext.self)
        routes.get("/-/healthy") { _, _ in "OK\n" }
        routes.get("/-/ready", use: readiness)
        routes.get("/metrics", use: scrape)
        routes.post("/-/reload", use: reload)
        routes.get("/api/v2/status", use: status)
        return routes
    }

    /// 200 `OK` once NATS is connected and state loaded; 503 with the reason otherwise.
    func readiness(_ request: Request, context: APIRequestContext) -> Response {
        let (ready, reason) = runtime.readiness
        return Response(status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain"],
                        body: .init(byteBuffer: ByteBuffer(string: (ready ? "OK" : reason) + "\n")))
    }

    func scrape(_ request: Request, context: APIRequestContext) async -> Response {
        let text = await metrics.scrape()
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Applies the configuration file, or answers 400 with every issue and keeps the running one.
    func reload(_ request: Request, context: APIRequestContext) async throws -> ReloadResponse {
        switch await runtime.reload() {
        case .success(let notes):
            return ReloadResponse(notes: notes)
        case .failure(let error):
            throw APIError(.badRequest, "configuration refused; the running configuration stays:\n" + error.issues.map(\.description).joined(separator: "\n"))
        }
    }

    func status(_ request: Request, context: APIRequestContext) async -> AlertmanagerStatus {
        var status = AlertmanagerStatus(config: runtime.config, startedAt: runtime.startedAt)
        if let coordinator = runtime.ownership?.coordinator {
            status.cluster = await .highAvailability(coordinator)
        }
        return status
    }
}
