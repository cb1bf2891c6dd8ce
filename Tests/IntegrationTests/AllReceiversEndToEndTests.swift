import AlertCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The whole path with real processes: `nats-alerter send` → nats-server →
/// the built nats-alerter → a real Alertmanager, a real SMTP server, and
/// local HTTP servers standing in for Slack and a webhook receiver — with
/// the receiver config written as the README documents it.
@Suite("End to end: one event reaches all four integrations")
struct AllReceiversEndToEndTests {
    @Test("a firing event and its resolve reach Alertmanager, Slack, email and the webhook")
    func allFour() async throws {
        let directory = try makeTemporaryDirectory("all-four")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let alertmanager = try await AlertmanagerServer(directory: directory)
        defer { alertmanager.process.kill() }
        let slack = try await HTTPRecorder(directory: directory)
        defer { slack.process.kill() }
        let hook = try await HTTPRecorder(directory: directory)
        defer { hook.process.kill() }
        let smtp = try await SMTPServer(directory: directory)
        defer { smtp.process.kill() }
        try "\(slack.url)/services/T0/B0/secret-part\n".write(to: directory.appendingPathComponent("slack-url"), atomically: true, encoding: .utf8)

        let alerter = try AlerterProcess(config: """
            nats: {servers: ["\(nats.url)"], subjects: ["simulation_worker.>"]}
            global:
              smtp_smarthost: "\(smtp.smarthost)"
              smtp_from: alerts@example.com
              smtp_require_tls: false
              slack_api_url_file: slack-url
            route:
              receiver: oncall
              group_by: [alertname, source]
              group_wait: 0s
              group_interval: 1s
            receivers:
              - name: oncall
                alertmanager_configs: [{urls: ["\(alertmanager.baseURL.absoluteString)"], resend_interval: 10s}]
                slack_configs: [{channel: "#oncall", send_resolved: true}]
                email_configs: [{to: "oncall@example.com", send_resolved: true}]
                webhook_configs: [{url: "\(hook.url)/hook"}]
            """, directory: directory)
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        let send = ["send", "--server", nats.url, "--subject", "simulation_worker.process_crash", "--alertname", "process_crash",
                    "--source", "worker-7", "--summary", "Worker 7 crashed <!channel>", "--label", "cluster=a"]
        #expect(try await AlerterProcess.run(send, directory: directory).status == 0)

        #expect(await waitUntil(timeout: .seconds(15)) { !slack.requests.isEmpty && !hook.requests.isEmpty && !smtp.messages.isEmpty },
                "slack \(slack.requests.count), webhook \(hook.requests.count), email \(smtp.messages.count)\n\(alerter.process.output.suffix(3000))")
        let fingerprint = AlertEvent(alertType: "process_crash", severity: .critical, source: "worker-7", labels: ["cluster": "a"],
                                     subject: "simulation_worker.process_crash").fingerprint.description
        let (data, _) = try await URLSession.shared.data(from: alertmanager.baseURL.appendingPathComponent("api/v2/alerts"))
        let forwarded = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        #expect(forwarded.map { $0["fingerprint"] as? String } == [fingerprint])

        let slackText = String(describing: slack.requests[0].json ?? "")
        #expect(slackText.contains("Worker 7 crashed"))
        #expect(slackText.contains("&lt;!channel&gt;") && !slackText.contains("<!channel>"))
        #expect(slack.requests[0].path == "/services/T0/B0/secret-part")
        let payload = try #require(hook.requests[0].json as? [String: Any])
        #expect(payload["version"] as? String == "4" && payload["status"] as? String == "firing")
        let mail = try #require(smtp.messages.first)
        #expect(mail.recipients == ["oncall@example.com"])
        #expect(mail.header("Subject").first?.contains("process_crash") == true)

        #expect(try await AlerterProcess.run(send + ["--resolved"], directory: directory).status == 0)
        #expect(await waitUntil(timeout: .seconds(15)) { hook.requests.count >= 2 && slack.requests.count >= 2 && smtp.messages.count >= 2 })
        #expect((hook.requests.last?.json as? [String: Any])?["status"] as? String == "resolved")
        let gone = await waitUntilAsync(timeout: .seconds(10)) {
            guard let (data, _) = try? await URLSession.shared.data(from: alertmanager.baseURL.appendingPathComponent("api/v2/alerts")),
                  let alerts = try? JSONSerialization.jsonObject(with: data) as? [Any] else { return false }
            return alerts.isEmpty
        }
        #expect(gone, "Alertmanager should no longer list the resolved alert")
        // No secret in the service's log.
        #expect(!alerter.process.output.contains("secret-part"))
        await alerter.process.stop()
    }
}
