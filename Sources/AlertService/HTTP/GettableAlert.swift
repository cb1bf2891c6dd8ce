import AlertCore
import Foundation
import Hummingbird

/// An alert as `GET /api/v2/alerts` and `/alerts/groups` list it
/// (Alertmanager's `gettableAlert`). Times are `APIJSON.timestamp` strings.
struct GettableAlert: ResponseEncodable {
    var annotations: [String: String]
    var endsAt: String
    var fingerprint: String
    var receivers: [Receiver]
    var startsAt: String
    var status: AlertStatus
    var updatedAt: String
    var labels: [String: String]
    /// Left out, not `null`, when the event named none.
    var generatorURL: String?

    /// - Parameter endsAt: when the alert resolves unless it is seen again (last seen plus its resolve timeout).
    init(_ alert: Alert, receivers: [String], silencedBy: [String], inhibitedBy: [Fingerprint], endsAt: Date) {
        annotations = alert.annotations.dictionary
        self.endsAt = APIJSON.timestamp(endsAt)
        fingerprint = alert.fingerprint.description
        self.receivers = receivers.map(Receiver.init(name:))
        startsAt = APIJSON.timestamp(alert.startsAt)
        status = AlertStatus(silencedBy: silencedBy, inhibitedBy: inhibitedBy.map(\.description))
        updatedAt = APIJSON.timestamp(alert.lastSeen)
        labels = alert.labels.dictionary
        generatorURL = alert.generatorURL.isEmpty ? nil : alert.generatorURL
    }
}

/// Whether an alert is muted and by what (Alertmanager's `alertStatus`):
/// `suppressed` while a silence or an inhibiting alert mutes it, else `active`.
struct AlertStatus: Encodable {
    var state: String
    var silencedBy: [String]
    /// Fingerprints of the alerts that inhibit this one.
    var inhibitedBy: [String]

    init(silencedBy: [String], inhibitedBy: [String]) {
        state = silencedBy.isEmpty && inhibitedBy.isEmpty ? "active" : "suppressed"
        self.silencedBy = silencedBy
        self.inhibitedBy = inhibitedBy
    }
}
