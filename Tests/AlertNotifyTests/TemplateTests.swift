import AlertCore
@testable import AlertNotify
import Foundation
import Testing

func sampleNotification(summary: String = "Disk 97% full", source: String = "db-1", repeats: Int = 0, sendResolved: Bool = true) -> AlertCore.Notification {
    var alert = Alert(event: AlertEvent(alertType: "disk_full", severity: .critical, source: source, summary: summary,
                                        currentValue: 97, thresholdValue: 90, subject: "system.error.critical"),
                      fingerprint: Fingerprint(rawValue: 1), receivedAt: Date().addingTimeInterval(-125))
    alert.repeatCount = repeats
    return AlertCore.Notification(receiver: "oncall", groupKey: "{}:{}", groupLabels: LabelSet(["alertname": "disk_full"]),
                                  firing: [NotifiedAlert(alert: alert)], resolved: [], sendResolved: sendResolved, timestamp: Date())
}

@Suite("Templates")
struct TemplateTests {
    @Test("the default Slack text tells what, where, since when, how often, value and threshold")
    func slackDefaults() throws {
        let library = try TemplateLibrary()
        let text = try library.render(named: "slack.text", format: .slack, data: TemplateData(sampleNotification(repeats: 3)).context)
        #expect(text.contains("*disk_full*"))
        #expect(text.contains("`db-1`"))
        #expect(text.contains("Disk 97% full"))
        #expect(text.contains("reported 3 more times"))
        #expect(text.contains("value 97, threshold 90"))
        #expect(text.contains("(2m ago)") || text.contains("(2m 5s ago)"))
        let title = try library.render(named: "slack.title", format: .slack, data: TemplateData(sampleNotification()).context)
        #expect(title == "[FIRING: 1] alertname=disk_full")
    }

    @Test("each format escapes what it must and nothing more", arguments: [
        (TemplateFormat.slack, "<!channel> & \"x\"", "&lt;!channel&gt; &amp; \"x\""),
        (.html, "<b> & \"x\"", "&lt;b&gt; &amp; &quot;x&quot;"),
        (.text, "<b> & \"x\"", "<b> & \"x\""),
    ])
    func escaping(format: TemplateFormat, value: String, expected: String) throws {
        let library = try TemplateLibrary()
        #expect(try library.render("{{annotations.summary}}", format: format, data: ["annotations": ["summary": value]]) == expected)
    }

    @Test("a file under templates: overrides a built-in, and fields can include templates as partials")
    func overrides() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tmpl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try "ALERT {{commonLabels.alertname}}".write(to: folder.appendingPathComponent("slack.title.mustache"), atomically: true, encoding: .utf8)
        try "{{ .CommonLabels }}".write(to: folder.appendingPathComponent("old.tmpl"), atomically: true, encoding: .utf8)
        var skipped: [String] = []
        let library = try TemplateLibrary.load(patterns: ["*"], baseDirectory: folder.path, skipped: &skipped)
        let data = TemplateData(sampleNotification()).context
        #expect(try library.render("{{> slack.title}} / {{receiver}}", format: .slack, data: data) == "ALERT disk_full / oncall")
        #expect(skipped.count == 1 && skipped[0].hasSuffix("old.tmpl"))
        #expect(throws: TemplateError.self) { try TemplateLibrary.load(patterns: ["missing.mustache"], baseDirectory: folder.path, skipped: &skipped) }
    }

    @Test("resolved alerts appear only when the receiver sends resolved")
    func resolvedVisibility() throws {
        var notification = sampleNotification()
        var resolved = notification.firing[0].alert
        resolved.fingerprint = Fingerprint(rawValue: 2)
        resolved.endsAt = Date()
        notification.resolved = [NotifiedAlert(alert: resolved)]
        #expect((TemplateData(notification).context["resolvedCount"] as? Int) == 1)
        notification.sendResolved = false
        #expect((TemplateData(notification).context["resolvedCount"] as? Int) == 0)
    }

    @Test("Slack truncation keeps whole alerts and counts the rest")
    func slackTruncation() throws {
        var notification = sampleNotification()
        let template = notification.firing[0].alert
        notification.firing = (0..<600).map { index in
            var alert = template
            alert.fingerprint = Fingerprint(rawValue: UInt64(index))
            alert.annotations["summary"] = String(repeating: "y", count: 100)
            return NotifiedAlert(alert: alert)
        }
        let notifier = SlackNotifier(configuration: SlackConfiguration(apiURL: .inline("http://x")), templates: try TemplateLibrary(), poster: nil)
        let text = try notifier.fittedText(notification, now: Date())
        #expect(text.count <= SlackNotifier.maxTextCharacters)
        let kept = text.components(separatedBy: ":rotating_light:").count - 1
        let match = try #require(text.firstMatch(of: /… (\d+) more alerts$/))
        #expect(kept + Int(match.1)! == 600)
        #expect(kept > 100)
    }
}
