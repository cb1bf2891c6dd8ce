import Hummingbird

/// The built-in web UI (docs/ARCHITECTURE.md, Web UI): server-rendered pages
/// for alerts (`/`), silences, notifications and status, their assets, the
/// silence preview, and `POST /ui/session`, which turns the API token into a
/// cookie. Added by `APIRouter.addRoutes` behind `BearerTokenAuthenticator`
/// like every collection; the session route, the one write here, also checks
/// the `Authorization` header itself (`UISession.create`). Writes to
/// silences go through the JSON API from the page's script.
/// Thread-safe: a value over the runtime, which is `Sendable`.
struct UIRoutes {
    let runtime: Alerter

    var collection: RouteCollection<APIRequestContext> {
        let routes = RouteCollection(context: APIRequestContext.self)
        routes.get("/") { request, _ in
            UIPage.render("alerts", await AlertsPage(runtime: runtime, filterTexts: request.uri.queryParameters.getAll("filter"), session: session(request)))
        }
        routes.get("/ui/silences") { request, _ in
            UIPage.render("silences", SilencesPage(runtime: runtime, session: session(request)))
        }
        routes.get("/ui/silences/new") { request, _ in
            let query = request.uri.queryParameters
            return UIPage.render("silence-form", SilenceForm(runtime: runtime, matchers: query.get("matchers"), id: query.get("id"), session: session(request)))
        }
        routes.get("/ui/silence-preview") { request, _ in
            try SilencePreview(runtime: runtime, text: request.uri.queryParameters.get("matchers") ?? "")
        }
        routes.get("/ui/notifications") { request, _ in
            UIPage.render("notifications", await NotificationsPage(runtime: runtime, session: session(request)))
        }
        routes.get("/ui/status") { request, _ in
            UIPage.render("status", await StatusPage(runtime: runtime, session: session(request)))
        }
        routes.post("/ui/session") { request, _ in try UISession.create(request, runtime: runtime) }
        routes.get("/ui/assets/ui.css") { _, _ in UIPage.response(UIAssets.stylesheet, contentType: "text/css; charset=utf-8") }
        routes.get("/ui/assets/ui.js") { _, _ in UIPage.response(UIAssets.script, contentType: "text/javascript; charset=utf-8") }
        routes.get("/ui/assets/icon.svg") { _, _ in UIPage.response(UIAssets.icon, contentType: "image/svg+xml") }
        return routes
    }

    func session(_ request: Request) -> UISession.State {
        UISession.state(of: request, runtime: runtime)
    }
}
