import AlertCore
import AlertTestSupport
import AlertNotify
import AsyncHTTPClient
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Testing

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

@Suite("Notifiers against real receivers", .serialized)
struct NotifierTests {
    @Test("Alertmanager receives forwarded alerts with the same labels and fingerprints, kept alive across resends, then resolved")
    func alertmanagerForwarding() async throws {
        let directory = try makeTemporaryDirectory("am-forward")
        defer { try? FileManager.default.removeItem(at: directory) }
        let am1 = try await AlertmanagerServer(directory: directory.appendingPathComponent("1", isDirectory: true).creatingDirectory())
        let am2 = try await AlertmanagerServer(directory: directory.appendingPathComponent("2", isDirectory: true).creatingDirectory())
        defer { am1.process.kill(); am2.process.kill() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { Task { try? await client.shutdown() } }

        let event = AlertEvent(alertType: "process_crash", severity: .critical, source: "worker-7", summary: "Worker 7 crashed",
                               labels: ["cluster": "a"], generatorURL: "http://grafana/d/1", subject: "simulation_worker.process_crash")
        let notification = makeNotification(receiver: "team", firing: [event], sendResolved: true, at: Date())
        let alert = notification.firing[0].alert
        let live = LockedBox<Alert?>(alert)
        let sentFrom = Date()
        let forwarder = AlertmanagerNotifier(
            configuration: AlertmanagerForwardConfiguration(urls: [am1.baseURL.absoluteString, am2.baseURL.absoluteString], resendInterval: .seconds(1)),
            poster: HTTPPoster(client: client), logger: quietLogger, lookup: { _ in live.get() }
        )
        try await forwarder.send(notification)
        let resender = Task { await forwarder.runResender() }
        defer { resender.cancel() }

        for am in [am1, am2] {
            let alerts = try await activeAlerts(am)
            #expect(alerts.count == 1)
            #expect(alerts.first?["fingerprint"] as? String == alert.fingerprint.description)
            #expect(alerts.first?["labels"] as? [String: String] == alert.labels.dictionary)
            #expect((alerts.first?["annotations"] as? [String: String])?["summary"] == "Worker 7 crashed")
            #expect(alerts.first?["generatorURL"] as? String == "http://grafana/d/1")
            // endsAt is 4 × resend_interval after the send (or the latest resend) that set it: after the
            // first send began, and no later than this query. Bounded by the sends, not by the wall clock
            // of the check, which a loaded machine can delay by seconds.
            let endsAt = try #require(parseDate(alerts.first?["endsAt"] as? String))
            let window = sentFrom.addingTimeInterval(4 - 0.5)...Date().addingTimeInterval(4 + 0.5)
            #expect(window.contains(endsAt), "endsAt \(endsAt) should be 4 × resend_interval after a send in \(window)")
        }
        // Without resends Alertmanager would time the alert out after 4 s.
        try await Task.sleep(for: .seconds(7))
        #expect(try await activeAlerts(am1).count == 1)

        // The alert resolves in the store (say, while muted): the resender ends it there too.
        var resolved = alert
        resolved.endsAt = Date()
        live.set(resolved)
        let gone = await waitUntilAsync(timeout: .seconds(10)) { ((try? await activeAlerts(am1)) ?? [["error": true]]).isEmpty }
        #expect(gone, "Alertmanager still shows the alert as active")
    }

    @Test("Alertmanager forwarding splits a batch only when the content is refused (400): a 401 for the credentials costs one request, not one per alert")
    func alertmanagerSplitOnlyOnContent() async throws {
        let directory = try makeTemporaryDirectory("am-split")
        defer { try? FileManager.default.removeItem(at: directory) }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { Task { try? await client.shutdown() } }
        let events = (0..<8).map { AlertEvent(alertType: "job_failed", source: "job-\($0)") }
        let notification = makeNotification(receiver: "team", firing: events, sendResolved: true, at: Date())

        let unauthorized = try await HTTPRecorder(directory: directory, responses: Array(repeating: "401", count: 20))
        defer { unauthorized.process.kill() }
        let denied = AlertmanagerNotifier(configuration: AlertmanagerForwardConfiguration(urls: [unauthorized.url]), poster: HTTPPoster(client: client),
                                          logger: quietLogger)
        await #expect(throws: NotifyError.self) { try await denied.send(notification) }
        #expect(unauthorized.requests.count == 1)

        // A 400 for the batch, then 200s: each half is posted on its own, and both are accepted.
        let refused = try await HTTPRecorder(directory: directory, responses: ["400"])
        defer { refused.process.kill() }
        let split = AlertmanagerNotifier(configuration: AlertmanagerForwardConfiguration(urls: [refused.url]), poster: HTTPPoster(client: client),
                                         logger: quietLogger)
        try await split.send(notification)
        let sizes = refused.requests.map { (($0.json as? [Any]) ?? []).count }
        #expect(sizes == [8, 4, 4])
    }

    @Test("Slack: event text is escaped, long messages are cut with a count, one request per second per webhook, 429 waits for Retry-After")
    func slack() async throws {
        let directory = try makeTemporaryDirectory("slack")
        defer { try? FileManager.default.removeItem(at: directory) }
        let slack = try await HTTPRecorder(directory: directory, responses: ["429:2", "429:2"])
        defer { slack.process.kill() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { Task { try? await client.shutdown() } }
        let notifier = SlackNotifier(
            configuration: SlackConfiguration(apiURL: .inline(slack.url + "/services/T000/B000/XXXX"), channel: "#alerts", sendResolved: true),
            templates: try TemplateLibrary(), poster: HTTPPoster(client: client), rateLimiter: RateLimiter(interval: .seconds(1))
        )
        let statistics = DeliveryStatistics()
        let worker = IntegrationWorker(receiver: "team", integration: notifier, policy: RetryPolicy(initialDelay: .milliseconds(100)),
                                       statistics: statistics, logger: quietLogger)
        let running = Task { await worker.run() }

        let hostile = AlertEvent(alertType: "injection", severity: .critical, source: "<!channel>",
                                 summary: "<https://evil.example|click me> & <@U123>", subject: "system.error.critical")
        worker.enqueue(makeNotification(receiver: "team", firing: [hostile], sendResolved: true, at: Date()))
        let big = (0..<400).map { AlertEvent(alertType: "disk_full", source: "node-\($0)", summary: String(repeating: "x", count: 150), subject: "system.error.critical") }
        worker.enqueue(makeNotification(receiver: "team", firing: big, sendResolved: true, at: Date()))
        worker.enqueue(makeNotification(receiver: "team", firing: [AlertEvent(alertType: "third", subject: "system.error.critical")], at: Date()))
        worker.finish()
        await running.value

        let requests = slack.requests
        #expect(requests.map(\.answer) == ["429:2", "429:2", "200", "200", "200"])
        // The retries after 429 waited at least Retry-After.
        #expect(requests[1].time - requests[0].time >= 1.95)
        #expect(requests[2].time - requests[1].time >= 1.95)
        // Successive messages to one webhook are at least a second apart.
        for index in 3..<requests.count { #expect(requests[index].time - requests[index - 1].time >= 0.95) }
        #expect(statistics.counts(receiver: "team", integration: "slack").delivered == 3)
        #expect(statistics.counts(receiver: "team", integration: "slack").retries == 2)

        let first = try #require(requests[2].json as? [String: Any])
        let attachment = try #require((first["attachments"] as? [[String: Any]])?.first)
        let text = try #require(attachment["text"] as? String)
        #expect(text.contains("&lt;!channel&gt;"))
        #expect(text.contains("&lt;https://evil.example|click me&gt; &amp; &lt;@U123&gt;"))
        #expect(!text.contains("<!channel>") && !text.contains("<@U123>"))
        #expect(first["channel"] as? String == "#alerts")

        let second = try #require(requests[3].json as? [String: Any])
        let bigText = try #require(((second["attachments"] as? [[String: Any]])?.first?["text"]) as? String)
        #expect(bigText.count <= SlackNotifier.maxTextCharacters)
        #expect(bigText.range(of: #"… \d+ more alerts$"#, options: .regularExpression) != nil, "\(bigText.suffix(80))")
    }

    @Test("webhook: Alertmanager's version 4 payload, with max_alerts truncation")
    func webhook() async throws {
        let directory = try makeTemporaryDirectory("webhook")
        defer { try? FileManager.default.removeItem(at: directory) }
        let receiver = try await HTTPRecorder(directory: directory)
        defer { receiver.process.kill() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { Task { try? await client.shutdown() } }
        let notifier = WebhookNotifier(configuration: WebhookConfiguration(url: .inline(receiver.url + "/hook"), maxAlerts: 2),
                                       poster: HTTPPoster(client: client), externalURL: "http://alerter:9094")
        let notification = makeNotification(
            receiver: "team",
            firing: [AlertEvent(alertType: "a", source: "1", subject: "s.x"), AlertEvent(alertType: "a", source: "2", subject: "s.x")],
            resolved: [AlertEvent(alertType: "a", source: "3", subject: "s.x")], sendResolved: true, at: Date()
        )
        try await notifier.send(notification)
        let payload = try #require(receiver.requests.first?.json as? [String: Any])
        #expect(receiver.requests.first?.path == "/hook")
        #expect(payload["version"] as? String == "4")
        #expect(payload["status"] as? String == "firing")
        #expect(payload["receiver"] as? String == "team")
        #expect(payload["groupKey"] as? String == notification.groupKey)
        #expect(payload["truncatedAlerts"] as? Int == 1)
        #expect(payload["externalURL"] as? String == "http://alerter:9094")
        #expect(payload["groupLabels"] as? [String: String] == ["alertname": "a"])
        #expect((payload["commonLabels"] as? [String: String])?["alertname"] == "a")
        let alerts = try #require(payload["alerts"] as? [[String: Any]])
        #expect(alerts.count == 2)
        #expect(alerts.allSatisfy { $0["status"] as? String == "firing" && $0["endsAt"] as? String == "0001-01-01T00:00:00Z" })
        #expect(Set(alerts.compactMap { $0["fingerprint"] as? String }) == Set(notification.firing.map(\.alert.fingerprint.description)))
    }

    @Test("a receiver that is down for 20 s gets its notification after it comes back")
    func receiverComesBack() async throws {
        let directory = try makeTemporaryDirectory("down")
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = freeLoopbackPort()
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { Task { try? await client.shutdown() } }
        let statistics = DeliveryStatistics()
        let worker = IntegrationWorker(
            receiver: "team",
            integration: WebhookNotifier(configuration: WebhookConfiguration(url: .inline("http://127.0.0.1:\(port)/hook")), poster: HTTPPoster(client: client)),
            policy: RetryPolicy(), statistics: statistics, logger: quietLogger
        )
        let running = Task { await worker.run() }
        let sentAt = Date()
        worker.enqueue(makeNotification(receiver: "team", firing: [AlertEvent(alertType: "db_down", subject: "system.error.critical")], at: Date()))
        try await Task.sleep(for: .seconds(20))
        #expect(statistics.counts(receiver: "team", integration: "webhook").delivered == 0)
        // AsyncHTTPClient retries a refused connection itself until the 10 s request timeout, so attempts are ~10 s apart.
        #expect(statistics.counts(receiver: "team", integration: "webhook").retries >= 1)
        let receiver = try await HTTPRecorder(directory: directory, port: port)
        defer { receiver.process.kill() }
        worker.finish()
        await running.value
        #expect(statistics.counts(receiver: "team", integration: "webhook").delivered == 1)
        #expect(receiver.requests.count == 1)
        #expect(try #require(receiver.requests.first).time - sentAt.timeIntervalSince1970 >= 20)
    }

    func activeAlerts(_ am: AlertmanagerServer) async throws -> [[String: Any]] {
        let (data, _) = try await URLSession.shared.data(from: am.baseURL.appendingPathComponent("api/v2/alerts"))
        return (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }

    func parseDate(_ text: String?) -> Date? {
        guard let text else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }
}

extension URL {
    func creatingDirectory() throws -> URL {
        try FileManager.default.createDirectory(at: self, withIntermediateDirectories: true)
        return self
    }
}
