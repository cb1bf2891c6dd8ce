import AlertCore
@testable import AlertNotify
import Foundation
import Testing

/// Event data is written by publishers; receivers interpret it. Nothing a
/// label, annotation or URL carries may ping someone in Slack, add an email
/// recipient, or make Alertmanager refuse the other alerts of a batch.
@Suite("Hostile event data at the receivers")
struct HostileDataTests {
    @Test("only absolute http(s) URLs of RFC 3986 characters pass", arguments: [
        ("https://ci.example.com/job/1?x=1&y=2#top", true), ("http://127.0.0.1:9090/graph", true), ("HTTPS://EXAMPLE.COM", true),
        ("!channel", false), ("@U024BE7LH", false), ("https://x.example|click", false), ("https://x.example/<!here>", false),
        ("javascript:alert(1)", false), ("/relative", false), ("http://", false), ("https://:80/", false), ("", false),
        ("https://exa mple.com", false), ("https://example.com/\n", false), ("ftp://example.com", false), ("https://bücher.de", false),
    ])
    func safeURLs(url: String, passes: Bool) {
        #expect((SafeURL.absoluteHTTP(url) != nil) == passes)
    }

    func notification(generatorURL: String, summary: String = "ok") -> AlertCore.Notification {
        let alert = Alert(event: AlertEvent(alertType: "job_failed", source: "ci", summary: summary, generatorURL: generatorURL),
                          fingerprint: Fingerprint(rawValue: 7), receivedAt: Date())
        return AlertCore.Notification(receiver: "chat", groupKey: "{}:{}", groupLabels: LabelSet(["alertname": "job_failed"]),
                                      firing: [NotifiedAlert(alert: alert)], resolved: [], sendResolved: false, timestamp: Date())
    }

    @Test("the Slack text never carries a mention or a relabelled link from event data", arguments: [
        "!channel", "@U024BE7LH", "https://ok.example.com|owned", "<!here>", "https://ok.example.com/>|x",
    ])
    func slackMentions(url: String) throws {
        let library = try TemplateLibrary()
        let text = try library.render(named: "slack.text", format: .slack,
                                      data: TemplateData(notification(generatorURL: url, summary: "<!channel> <@U1>")).context)
        #expect(!text.contains("<!"))
        #expect(!text.contains("<@"))
        #expect(!text.contains("|source>"), "an unsafe URL is not linked: \(text)")
        #expect(!text.contains("owned"))
    }

    @Test("a safe URL stays a Slack link, with & escaped")
    func slackLink() throws {
        let library = try TemplateLibrary()
        let text = try library.render(named: "slack.text", format: .slack,
                                      data: TemplateData(notification(generatorURL: "https://ci.example.com/r?a=1&b=2")).context)
        #expect(text.contains("<https://ci.example.com/r?a=1&amp;b=2|source>"))
    }

    @Test("the Alertmanager body leaves an unsafe generatorURL out and never starts an alert in the future")
    func alertmanagerBody() throws {
        let now = Date()
        var future = Alert(event: AlertEvent(alertType: "a", source: "s", generatorURL: "not a url"), fingerprint: Fingerprint(rawValue: 1),
                           receivedAt: now)
        future.startsAt = now.addingTimeInterval(3600)
        let good = Alert(event: AlertEvent(alertType: "a", source: "t", generatorURL: "https://ci.example.com/1"), fingerprint: Fingerprint(rawValue: 2),
                         receivedAt: now)
        let body = AlertmanagerNotifier.body([future, good], now: now, resendInterval: .seconds(60))
        let objects = try #require(try JSONSerialization.jsonObject(with: body) as? [[String: Any]])
        #expect(objects[0]["generatorURL"] == nil)
        #expect(objects[1]["generatorURL"] as? String == "https://ci.example.com/1")
        let startsAt = try #require(objects[0]["startsAt"] as? String)
        let endsAt = try #require(objects[0]["endsAt"] as? String)
        #expect(startsAt <= now.rfc3339Milliseconds && startsAt <= endsAt)
    }

    @Test("email `to` entries are split before rendering: a comma in a label value cannot add a recipient")
    func emailRecipients() throws {
        #expect(EmailNotifier.splitAddressList("a@x.org, {{labels.team}}@x.org") == ["a@x.org", "{{labels.team}}@x.org"])
        #expect(EmailNotifier.splitAddressList("\"Doe, Jane\" <j@x.org>, b@x.org") == ["\"Doe, Jane\" <j@x.org>", "b@x.org"])

        var configuration = EmailConfiguration(to: "{{groupLabels.team}}@example.com", from: "alerts@example.com", smarthost: "127.0.0.1:25")
        configuration.requireTLS = false
        let notifier = EmailNotifier(configuration: configuration, templates: try TemplateLibrary())
        func notification(team: String) -> AlertCore.Notification {
            let alert = Alert(event: AlertEvent(alertType: "a", labels: ["team": team]), fingerprint: Fingerprint(rawValue: 3), receivedAt: Date())
            return AlertCore.Notification(receiver: "mail", groupKey: "{}:{}", groupLabels: LabelSet(["team": team]),
                                          firing: [NotifiedAlert(alert: alert)], resolved: [], sendResolved: false, timestamp: Date())
        }
        #expect(try notifier.compose(notification(team: "db"))?.recipients.map(\.address) == ["db@example.com"])
        #expect(throws: NotifyError.self) {
            _ = try notifier.compose(notification(team: "db@example.com, attacker@evil.example, x"))
        }
    }
}
