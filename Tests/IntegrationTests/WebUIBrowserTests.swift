import AlertCore
import AlertIngest
import AlertTestSupport
import Foundation
import Testing

/// The web UI in a real browser: headless Chromium driven by Selenium
/// (`Tests/Fixtures/ui_browser.py`) against the built binary in durable mode
/// on a real nats-server, with two webhook receivers, one of which refuses
/// everything with 400. Saves a screenshot of each page (to `docs/screenshots/`
/// with `UPDATE_SCREENSHOTS=1`).
@Suite("Web UI in headless Chromium", .serialized)
struct WebUIBrowserTests {
    static func config(nats: String, httpPort: Int, tokenFile: String, oncall: String, broken: String) -> String {
        """
        nats:
          servers: ["\(nats)"]
          subjects: ["system.>"]
          jetstream: {stream: EVENTS, durable: alerter}
        state: {backend: jetstream, jetstream: {outbox: {ack_wait: 5s}}}
        server: {listen_address: "127.0.0.1:\(httpPort)", api_token_file: "\(tokenFile)"}
        route:
          receiver: oncall
          group_by: [alertname]
          group_wait: 0s
          group_interval: 1s
          repeat_interval: 1h
          routes: [{receiver: broken, matchers: ['alertname="disk_full"']}]
        receivers:
          - {name: oncall, webhook_configs: [{url: "\(oncall)/hook"}]}
          - {name: broken, webhook_configs: [{url: "\(broken)/hook"}]}
        """
    }

    @Test("an operator sees the alert, silences it from the UI (amtool sees the silence), and sees one notification delivered and one dead-lettered")
    func operatorJourney() async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw HarnessError("\(tool) is not installed (scripts/setup.sh --test installs chromium, chromium-driver and python3-selenium)")
        }
        let directory = try makeTemporaryDirectory("web-ui")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let oncall = try await HTTPRecorder(directory: directory)
        defer { oncall.process.kill() }
        let broken = try await HTTPRecorder(directory: directory, responses: Array(repeating: "400", count: 100))
        defer { broken.process.kill() }
        let tokenFile = directory.appendingPathComponent("api-token")
        try "browser-s3cret\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let port = freeLoopbackPort()
        let alerter = try AlerterProcess(config: Self.config(nats: nats.url, httpPort: port, tokenFile: tokenFile.path,
                                                             oncall: oncall.url, broken: broken.url), directory: directory)
        defer { alerter.process.kill() }
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")

        let publisher = try await runBlocking { () throws(NATSError) in
            try NATSConnection(configuration: .init(servers: [nats.url], name: "publisher"), logger: quietLogger)
        }
        defer { publisher.close() }
        for event in [
            AlertEvent(alertType: "node_down", severity: .critical, source: "node-1", summary: "node-1 stopped answering",
                       annotations: ["runbook_url": "https://runbooks.example/node-down"], generatorURL: "http://prometheus.example/graph"),
            AlertEvent(alertType: "disk_full", severity: .warning, source: "db-1", summary: "disk at 97 %"),
            AlertEvent(alertType: "xss_probe", severity: .info, source: "fuzzer", labels: ["payload": "<script>alert(1)</script>"],
                       annotations: ["runbook_url": "javascript:alert(1)"]),
        ] {
            try publisher.publish(subject: "system.\(event.alertType)", payload: ProtobufEventEncoder.encode(event))
        }
        try await runBlocking { () throws(NATSError) in try publisher.flush() }

        // The README's screenshots come from this test: `UPDATE_SCREENSHOTS=1` writes them to
        // docs/screenshots; otherwise they go to the test's folder, so a test run leaves the tree clean.
        let screenshots = ProcessInfo.processInfo.environment["UPDATE_SCREENSHOTS"] == "1"
            ? packageRoot.appendingPathComponent("docs/screenshots") : directory.appendingPathComponent("screenshots")
        let resultFile = directory.appendingPathComponent("browser-result.json")
        let browser = try ChildProcess(
            name: "ui-browser", executable: "/usr/bin/python3",
            arguments: [packageRoot.appendingPathComponent("Tests/Fixtures/ui_browser.py").path, "--url", "http://127.0.0.1:\(port)",
                        "--token", "browser-s3cret", "--screenshots", screenshots.path, "--out", resultFile.path],
            directory: directory)
        let status = try await browser.waitForExit(timeout: .seconds(300))
        let result = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: resultFile)) as? [String: Any], "\(browser.output)")
        #expect(status == 0, "browser: \(result["failure"] ?? browser.output)\nalerter:\n\(alerter.process.output.suffix(3000))")
        #expect((result["console_errors"] as? [String]) == [], "console errors: \(result["console_errors"] ?? "")")
        #expect((result["screenshots"] as? [String])?.count == 5)

        // The silence the browser created is Alertmanager's to amtool, and mutes node_down in the API.
        let silenceID = try #require(result["silence_id"] as? String)
        let query = try await ServiceFaceTests.amtool(["silence", "query"], port: port, directory: directory)
        #expect(query.status == 0 && query.output.contains(silenceID) && query.output.contains("silenced from the web UI (edited)"), "\(query.output)")
        let muted = try await ServiceFaceTests.amtool(["alert", "query", "-s", "alertname=node_down"], port: port, directory: directory)
        #expect(muted.output.contains("node_down") && muted.output.contains("suppressed"), "\(muted.output)")

        // What the notifications page showed is what the receivers got, under the id it showed.
        #expect(oncall.requests.contains { $0.answer == "200" && $0.body.contains("node_down") })
        let sentRow = try #require(result["sent_row"] as? String)
        let delivered = oncall.requests.compactMap { request in
            request.headers.first { $0.key.lowercased() == "x-nats-alerter-notification-id" }?.value
        }
        #expect(delivered.contains { !$0.isEmpty && sentRow.contains($0) }, "ids delivered: \(delivered); the page's row: \(sentRow)")
        #expect(broken.requests.contains { $0.answer == "400" && $0.body.contains("disk_full") })
        try await alerter.process.waitForOutput(containing: "notification dead-lettered")
        await alerter.process.stop()
    }
}
