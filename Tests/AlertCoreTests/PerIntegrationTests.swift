import AlertCore
import Foundation
import Testing

/// Alertmanager runs Dedup → Retry → SetNotifies per integration
/// (`notify.go` `createReceiverStage`): each integration has its own
/// notification-log entry and its own `send_resolved`.
@Suite("Engine scenarios: a notification log per integration")
struct PerIntegrationTests {
    static let integrations = [
        IntegrationPolicy(kind: "webhook", index: 0, sendResolved: true),
        IntegrationPolicy(kind: "slack", index: 0, sendResolved: false),
    ]

    func lines(_ s: Scenario) -> [String] {
        s.sent.map { t, notification in
            let firing = notification.firing.compactMap { $0.alert.labels["instance"] }.sorted().joined(separator: ",")
            let resolved = notification.sendResolved ? notification.resolved.compactMap { $0.alert.labels["instance"] }.sorted().joined(separator: ",") : ""
            return "t=\(Int(t)) \(notification.integration ?? "-") firing=[\(firing)] resolved=[\(resolved)]"
        }
    }

    @Test("webhook with send_resolved and Slack without: one alert resolving is sent to the webhook only; Slack is not re-posted the still-firing alert")
    func sendResolvedPerIntegration() {
        let s = Scenario(config(team(), receivers: [ReceiverPolicy(name: "team", integrations: Self.integrations)]))
        s.fire(at: 0, "disk_full", ["instance": "a"])
        s.fire(at: 0, "disk_full", ["instance": "b"])
        s.resolve(at: 100, "disk_full", ["instance": "a"])
        s.run(to: 1000)
        #expect(lines(s) == [
            "t=30 webhook/0 firing=[a,b] resolved=[]",
            "t=30 slack/0 firing=[a,b] resolved=[]",
            "t=330 webhook/0 firing=[b] resolved=[a]",
        ])
        let entries = s.engine.notificationLog.all.map { "\($0.receiver) \($0.integration) firing=\($0.firing.count) resolved=\($0.resolved.count)" }
        #expect(entries == ["team slack/0 firing=2 resolved=0", "team webhook/0 firing=1 resolved=1"])
    }

    @Test("each integration has its own log entry: a repeat is decided per integration")
    func repeatPerIntegration() {
        let both = [IntegrationPolicy(kind: "webhook", index: 0, sendResolved: true), IntegrationPolicy(kind: "webhook", index: 1, sendResolved: true)]
        let s = Scenario(config(team(repeatEvery: .every(.seconds(900))), receivers: [ReceiverPolicy(name: "team", integrations: both)]))
        s.fire(at: 0, "disk_full", ["instance": "a"])
        s.run(to: 1000)
        #expect(lines(s) == [
            "t=30 webhook/0 firing=[a] resolved=[]", "t=30 webhook/1 firing=[a] resolved=[]",
            "t=930 webhook/0 firing=[a] resolved=[]", "t=930 webhook/1 firing=[a] resolved=[]",
        ])
        #expect(Set(s.sent.map(\.notification.id)).count == 4)
    }

    @Test("a notification given up is as if never sent (Alertmanager writes its log after a successful send): the next flush sends it again, to that integration only")
    func givenUpIsSentAgain() {
        let s = Scenario(config(team(), receivers: [ReceiverPolicy(name: "team", integrations: Self.integrations)]))
        s.fire(at: 0, "disk_full", ["instance": "a"])
        s.run(to: 31)
        let slack = s.sent.first { $0.notification.integration == "slack/0" }!.notification
        // The Slack delivery failed for good (say a 400, or the retry deadline).
        #expect(s.engine.notificationLog.revert(slack))
        s.run(to: 400)
        #expect(lines(s) == [
            "t=30 webhook/0 firing=[a] resolved=[]",
            "t=30 slack/0 firing=[a] resolved=[]",
            "t=330 slack/0 firing=[a] resolved=[]",
        ])
        // A later decision already replaced the entry: reverting an old notification changes nothing.
        #expect(!s.engine.notificationLog.revert(slack))
    }
}
