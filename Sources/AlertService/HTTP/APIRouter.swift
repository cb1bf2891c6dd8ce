public import Hummingbird

/// The HTTP face: health, readiness, /metrics, reload, the Alertmanager
/// API v2 subset that amtool and dashboards use, and the web UI. Composes one route
/// collection per resource behind the guards every write passes
/// (docs/ARCHITECTURE.md, "Where to add": an API endpoint).
public enum APIRouter {
    public static func build(runtime: Alerter, metrics: AlerterMetrics) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        // Router-wide, before route matching: a cross-site write is refused even on a path that does not exist.
        router.add(middleware: MutationGuard(server: runtime.config.server))
        addRoutes(to: router, runtime: runtime, metrics: metrics)
        return router
    }

    /// Every endpoint, each collection behind `BearerTokenAuthenticator`
    /// (which passes reads), so no write can be added without it.
    static func addRoutes(to router: some RouterMethods<APIRequestContext>, runtime: Alerter, metrics: AlerterMetrics) {
        let authenticated = router.group().add(middleware: BearerTokenAuthenticator(runtime: runtime))
        authenticated.addRoutes(AdminRoutes(runtime: runtime, metrics: metrics).collection)
        authenticated.addRoutes(AlertRoutes(runtime: runtime).collection, atPath: "api/v2")
        authenticated.addRoutes(SilenceRoutes(runtime: runtime).collection, atPath: "api/v2")
        authenticated.addRoutes(UIRoutes(runtime: runtime).collection)
    }
}
