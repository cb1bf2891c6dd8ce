import AlertCore
@testable import AlertService
import AlertNotify
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The web UI in process: each page renders what the runtime holds, event
/// data is escaped and never becomes a script or a `javascript:` link, and
/// the token-to-cookie session authorizes writes exactly as the header does.
@Suite("Web UI")
struct WebUITests {
    func app(_ runtime: Alerter) -> some ApplicationProtocol {
        Application(router: APIRouter.build(runtime: runtime, metrics: AlerterMetrics(alerter: runtime)))
    }

    /// The API tests' three alerts: node_down (critical) inhibits disk_slow (warning, team db) in cluster a; cpu_hot is silenced.
    func runtimeWithAlerts(extraConfig: String = "") async throws -> (Alerter, silenceID: String) {
        let runtime = try makeRuntime(extraConfig: extraConfig)
        await fire(runtime, AlertEvent(alertType: "node_down", severity: .critical, labels: ["cluster": "a"],
                                       annotations: ["runbook_url": "https://runbooks.example/node-down"], generatorURL: "http://prometheus:9090/graph",
                                       subject: "system.node"))
        await fire(runtime, AlertEvent(alertType: "disk_slow", severity: .warning, labels: ["cluster": "a", "team": "db"], subject: "system.disk"))
        await fire(runtime, AlertEvent(alertType: "cpu_hot", severity: .error, subject: "system.cpu"))
        let id = try runtime.silencer.upsert(Silence(matchers: [try Matcher(name: "alertname", type: .equal, value: "cpu_hot")],
                                                     startsAt: Date(), endsAt: Date() + 3600, createdBy: "oncall", comment: "fan replaced"), now: Date())
        return (runtime, id)
    }

    @Test("alerts page: grouped by receiver and group, with mute state, labels as filter chips, annotations, start, repeats and subject")
    func alertsPage() async throws {
        let (runtime, silenceID) = try await runtimeWithAlerts()
        try await app(runtime).test(.router) { (client: any TestClientProtocol) async throws in
            let (status, page) = try await client.request("/")
            #expect(status == .ok)
            for text in ["<h2>team <small>2</small></h2>", "<h2>db <small>1</small></h2>", "node_down", "disk_slow", "cpu_hot",
                         "silenced by \(silenceID)", "inhibited by node_down", #"<span class="badge active">active</span>"#,
                         #"<a href="https://runbooks.example/node-down" rel="noopener noreferrer">"#, #"<a href="http://prometheus:9090/graph""#,
                         "<code>system.node</code>", "repeated 0×", #"data-refresh="10""#] {
                #expect(page.contains(text), "missing \(text)")
            }
            // A chip adds its label to the filter; the silence link carries the alert's labels.
            #expect(page.contains(#"href="/?filter=%7Balertname%3D%22node_down%22%7D""#))
            #expect(page.contains("/ui/silences/new?matchers=%7B"))

            let (_, filtered) = try await client.request("/?filter=" + UIPage.queryValue(#"{alertname="node_down"}"#))
            #expect(filtered.contains("node_down") && !filtered.contains("cpu_hot"))
            #expect(filtered.contains(#"value="{alertname=&quot;node_down&quot;}""#))
            let (_, unfiltered) = try await client.request("/")
            #expect(!unfiltered.contains("are listed"))
            let (badStatus, bad) = try await client.request("/?filter=" + UIPage.queryValue("alertname=~\"(\""))
            #expect(badStatus == .ok)
            #expect(bad.contains(#"<p class="error">Filter: "#))
        }
    }

    @Test("the alerts page lists at most its limit of alerts and says so")
    func alertsPageLimit() async throws {
        let (runtime, _) = try await runtimeWithAlerts()
        let page = await AlertsPage(runtime: runtime, filterTexts: [], session: .open, limit: 2)
        #expect(page.total == 3)
        #expect(page.receivers.flatMap(\.groups).flatMap(\.alerts).count == 2)
        #expect(page.truncated == "The first 2 are listed; narrow the filter to see the rest.")
    }

    @Test("silences page lists by state; the form is pre-filled from an alert's matchers or a silence; the preview lists what would be muted")
    func silencePages() async throws {
        let (runtime, silenceID) = try await runtimeWithAlerts()
        try await app(runtime).test(.router) { (client: any TestClientProtocol) async throws in
            let (_, list) = try await client.request("/ui/silences")
            #expect(list.contains("<h2>active <small>1</small></h2>") && list.contains("<h2>expired <small>0</small></h2>"))
            #expect(list.contains(silenceID) && list.contains("fan replaced") && list.contains(#"data-expire="\#(silenceID)""#))

            let (_, new) = try await client.request("/ui/silences/new?matchers=" + UIPage.queryValue(#"{alertname="node_down", cluster="a"}"#))
            #expect(new.contains(#"name="matchers" value="{alertname=&quot;node_down&quot;, cluster=&quot;a&quot;}""#))
            #expect(new.contains(#"data-duration="3600">1h</button>"#) && new.contains(#"data-duration="86400">1d</button>"#))
            let (_, edit) = try await client.request("/ui/silences/new?id=\(silenceID)")
            #expect(edit.contains(#"name="id" value="\#(silenceID)""#) && edit.contains(#"value="fan replaced""#) && edit.contains("Edit silence"))

            let (status, preview) = try await client.request("/ui/silence-preview?matchers=" + UIPage.queryValue(#"cluster="a""#))
            #expect(status == .ok)
            let object = try #require(json(preview) as? [String: Any])
            #expect((object["matchers"] as? [[String: Any]])?.first?["name"] as? String == "cluster")
            #expect((object["alerts"] as? [[String: Any]])?.count == 2)
            #expect(try await client.request("/ui/silence-preview?matchers=" + UIPage.queryValue("a=~\"(\"")).0 == .badRequest)
            #expect(try await client.request("/ui/silence-preview?matchers=").0 == .badRequest)
        }
    }

    @Test("notifications page: each receiver's integrations with sent, retrying (next attempt), failed and dead-lettered outcomes and their ids")
    func notificationsPage() async throws {
        let (runtime, _) = try await runtimeWithAlerts()
        let alert = try #require(runtime.store.activeAlerts().first)
        let notification = AlertCore.Notification(receiver: "team", groupKey: "{}:{alertname=\"node_down\"}", groupLabels: LabelSet(),
                                                  firing: [NotifiedAlert(alert: alert)], resolved: [], sendResolved: true, timestamp: Date())
        let history = runtime.notifiers.history
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        history.record(.init(notification, integration: "webhook/0", outcome: .sent, attempts: 1, at: at))
        history.record(.init(notification, integration: "webhook/1", outcome: .retrying, attempts: 2, at: at, nextAttemptAt: at + 30,
                             reason: "http_5xx", error: "HTTP 503"))
        history.record(.init(notification, integration: "slack/0", outcome: .deadLettered, attempts: 3, at: at, reason: "http_4xx",
                             error: "HTTP 400: <b>bad</b>"))
        try await app(runtime).test(.router) { (client: any TestClientProtocol) async throws in
            let (status, page) = try await client.request("/ui/notifications")
            #expect(status == .ok)
            for text in ["<h2>team</h2>", "<h2>db</h2>", "<h3>webhook/0</h3>", "<h3>webhook/1</h3>", "<h3>slack/0</h3>",
                         "<code>\(notification.id)</code>", #"<span class="badge sent">sent</span>"#, #"<span class="badge retrying">retrying</span>"#,
                         #"<span class="badge dead_lettered">dead_lettered</span>"#, "2027-01-15T08:00:30Z", "http_5xx", "HTTP 400: &lt;b&gt;bad&lt;/b&gt;",
                         "nothing sent yet"] {
                #expect(page.contains(text), "missing \(text)")
            }
        }
    }

    @Test("status page: version, uptime, NATS state, delivery mode and the running config with secrets as <secret>")
    func statusPage() async throws {
        let (runtime, _) = try await runtimeWithAlerts(extraConfig: #"global: {slack_api_url: "https://hooks.slack.com/services/T0/B0/hush-hush"}"#)
        try await app(runtime).test(.router) { (client: any TestClientProtocol) async throws in
            let (status, page) = try await client.request("/ui/status")
            #expect(status == .ok)
            for text in ["nats-alerter \(AlerterMetrics.version)", "(up ", #"<td id="nats-state">not configured</td>"#, "memory (notifications from memory)",
                         "slack_api_url: &lt;secret&gt;", "receiver: team"] {
                #expect(page.contains(text), "missing \(text)")
            }
            #expect(!page.contains("hush-hush"))
            #expect(StatusPage.duration(3 * 86400 + 4 * 3600 + 6) == "3d 4h 6s")
        }
    }

    @Test("hostile event data: a <script> label is escaped text, javascript: URLs are not links; pages carry a CSP with no inline script")
    func hostileDataIsEscaped() async throws {
        let runtime = try makeRuntime()
        await fire(runtime, AlertEvent(alertType: "xss", labels: ["payload": "<script>alert(1)</script>", "quote": #"" onmouseover="alert(2)"#],
                                       annotations: ["runbook_url": "javascript:alert(1)", "summary": "<img src=x onerror=alert(3)>"],
                                       generatorURL: "javascript:alert(4)", subject: "system.x"))
        try await app(runtime).test(.router) { (client: any TestClientProtocol) async throws in
            let page = try await client.execute(uri: "/", method: .get) { $0 }
            let body = String(buffer: page.body)
            #expect(!body.contains("<script>alert(1)</script>") && body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!body.contains("<img src=x") && body.contains("&lt;img src=x onerror=alert(3)&gt;"))
            #expect(!body.contains(#"" onmouseover="alert(2)"#) && body.contains("&quot; onmouseover=&quot;alert(2)"))
            #expect(!body.lowercased().contains("href=\"javascript:"))
            #expect(body.contains("<dd>javascript:alert(1)</dd>") && body.contains("<dd>javascript:alert(4)</dd>"))
            // The only scripts are the page's own file; the CSP forbids inline ones.
            #expect(body.components(separatedBy: "<script").count == 2)
            #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            for asset in ["/ui/assets/ui.js", "/ui/assets/ui.css", "/ui/assets/icon.svg"] {
                #expect(try await client.request(asset).0 == .ok, "\(asset)")
            }
        }
    }

    @Test("session: a wrong token is 401; the right one sets an HttpOnly, SameSite=Strict cookie that then authorizes a silence; cross-site writes stay refused")
    func sessionCookie() async throws {
        let tokenFile = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)").path
        try "s3cret\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tokenFile) }
        let runtime = try makeRuntime(extraConfig: "server: {api_token_file: \"\(tokenFile)\"}")
        let silence = #"{"matchers":[{"name":"a","value":"b","isRegex":false}],"startsAt":"\#(APIJSON.timestamp(Date()))","endsAt":"\#(APIJSON.timestamp(Date() + 60))","createdBy":"ui","comment":"from the UI"}"#
        try await app(runtime).test(.router) { (client: any TestClientProtocol) async throws in
            #expect(try await client.request("/ui/session", .post, body: "{}").0 == .unauthorized)
            #expect(try await client.request("/ui/session", .post, body: "{}", headers: [.authorization: "Bearer wrong"]).0 == .unauthorized)
            let (_, anonymous) = try await client.request("/ui/silences")
            #expect(anonymous.contains(#"id="token-form""#))

            let created = try await client.execute(uri: "/ui/session", method: .post,
                                                   headers: [.authorization: "Bearer s3cret", .contentType: "application/json"],
                                                   body: ByteBuffer(string: "{}")) { $0 }
            #expect(created.status == .noContent)
            let setCookie = try #require(created.headers[.setCookie])
            let attributes = setCookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(attributes.contains("HttpOnly") && attributes.contains("SameSite=Strict") && attributes.contains("Path=/"), "\(setCookie)")
            #expect(!attributes.contains("Secure"))  // plain HTTP here; set when the listener serves HTTPS
            let cookie = try #require(attributes.first)
            #expect(cookie.hasPrefix(UISession.cookieName + "=") && !cookie.contains("s3cret"))

            #expect(try await client.request("/api/v2/silences", .post, body: silence, headers: [.cookie: cookie]).0 == .ok)
            #expect(try await client.request("/api/v2/silences", .post, body: silence, headers: [.cookie: UISession.cookieName + "=" + UISession.cookieValue(for: "wrong")]).0 == .unauthorized)
            #expect(try await client.request("/api/v2/silences", .post, body: silence, headers: [.cookie: UISession.cookieName + "=zz"]).0 == .unauthorized)
            // The cookie does not lift MutationGuard: a foreign Origin is still refused.
            #expect(try await client.request("/api/v2/silences", .post, body: silence, headers: [.cookie: cookie, .origin: "https://evil.example"]).0 == .forbidden)
            // A wrong token sent with a good cookie is refused and does not replace it.
            let replaced = try await client.execute(uri: "/ui/session", method: .post,
                                                    headers: [.authorization: "Bearer wrong", .cookie: cookie, .contentType: "application/json"],
                                                    body: ByteBuffer(string: "{}")) { $0 }
            #expect(replaced.status == .unauthorized && replaced.headers[.setCookie] == nil)
            let (_, unlocked) = try await client.request("/ui/silences", headers: [.cookie: cookie])
            #expect(unlocked.contains("writes unlocked") && !unlocked.contains(#"id="token-form""#))
            // A rotated token invalidates the cookie at once.
            try "rotated\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
            #expect(try await client.request("/api/v2/silences", .post, body: silence, headers: [.cookie: cookie]).0 == .unauthorized)
        }
        #expect(UISession.token(fromCookie: UISession.cookieValue(for: "tøken; with=odd,chars")) == "tøken; with=odd,chars")
        for notOurs in ["+f", "-0", "ABCD", "abc", "zz"] { #expect(UISession.token(fromCookie: notOurs) == nil, "\(notOurs)") }
    }
}
