import AlertNotify
import Foundation

/// The notifications page (`/ui/notifications`), "did it go out?": per
/// receiver and integration, the recent outcomes `NotificationHistory` keeps
/// — sent, retrying (with the next attempt), failed, dead-lettered (with
/// reason and error) — under the id receivers see in
/// `X-Nats-Alerter-Notification-Id`.
struct NotificationsPage {
    struct Row {
        var notificationID: String
        var outcome: String
        var at: String
        var groupKey: String
        var firing: Int
        var resolved: Int
        var attempts: Int
        var nextAttemptAt: String?
        var reason: String?
        var error: String?
    }

    struct Integration {
        var name: String
        var entries: [Row]
    }

    struct Receiver {
        var name: String
        var integrations: [Integration]
    }

    var chrome: UIChrome
    var receivers: [Receiver]

    init(runtime: Alerter, session: UISession.State) async {
        chrome = UIChrome(title: "Notifications", path: "/ui/notifications", session: session)
        let history = runtime.notifiers.history
        let configured = await runtime.engine.configuration.receivers.keys
        let names = Set(configured).union(history.recent().map(\.receiver)).sorted()
        receivers = names.map { name in
            var integrations: [String: [Row]] = [:]
            for entry in history.recent(receiver: name) {
                integrations[entry.integration, default: []].append(Row(
                    notificationID: entry.notificationID, outcome: entry.outcome.rawValue, at: UIPage.time(entry.at), groupKey: entry.groupKey,
                    firing: entry.firing, resolved: entry.resolved, attempts: entry.attempts, nextAttemptAt: entry.nextAttemptAt.map(UIPage.time),
                    reason: entry.reason, error: entry.error))
            }
            return Receiver(name: name, integrations: integrations.keys.sorted().map { Integration(name: $0, entries: integrations[$0]!) })
        }
    }
}
