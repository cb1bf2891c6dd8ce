public import AlertCore
public import Foundation

/// The values a template sees: Alertmanager's template data (receiver,
/// status, alerts, groupLabels, commonLabels, commonAnnotations, externalURL)
/// in lowerCamelCase, plus ready-made text for people (`startsAtText`,
/// `valueText`, `repeatText`) because Mustache has no functions.
///
/// Every label and annotation map also comes as a list of `{name, value}`
/// (`labelList`, …), since Mustache cannot iterate over a map.
public struct TemplateData: Sendable {
    public let notification: AlertCore.Notification
    public let externalURL: String
    public let now: Date

    public init(_ notification: AlertCore.Notification, externalURL: String = "", now: Date = Date()) {
        self.notification = notification
        self.externalURL = externalURL
        self.now = now
    }

    /// Alerts as the receiver sees them: resolved ones only with `send_resolved`.
    public var sentAlerts: [NotifiedAlert] {
        notification.firing + (notification.sendResolved ? notification.resolved : [])
    }

    /// `firing` when anything fires, else `resolved` (Alertmanager's rule).
    public var status: String { notification.firing.isEmpty ? "resolved" : "firing" }

    /// The Mustache context.
    public var context: [String: Any] {
        let firing = notification.firing.map { alertContext($0) }
        let resolved = notification.sendResolved ? notification.resolved.map { alertContext($0) } : []
        let commonAnnotations = Self.commonAnnotations(sentAlerts.map(\.alert))
        return [
            "receiver": notification.receiver,
            "status": status,
            "statusUpper": status.uppercased(),
            "isFiring": status == "firing",
            "groupKey": notification.groupKey,
            "alerts": firing + resolved,
            "firing": firing,
            "resolved": resolved,
            "firingCount": firing.count,
            "resolvedCount": resolved.count,
            "hasFiring": !firing.isEmpty,
            "hasResolved": !resolved.isEmpty,
            "groupLabels": notification.groupLabels.dictionary,
            "groupLabelList": Self.list(notification.groupLabels.dictionary),
            "groupLabelsText": Self.text(notification.groupLabels.dictionary),
            "commonLabels": notification.commonLabels.dictionary,
            "commonLabelList": Self.list(notification.commonLabels.dictionary),
            "commonAnnotations": commonAnnotations,
            "commonAnnotationList": Self.list(commonAnnotations),
            "externalURL": externalURL,
        ]
    }

    func alertContext(_ notified: NotifiedAlert) -> [String: Any] {
        let alert = notified.alert
        var context: [String: Any] = [
            "status": alert.isFiring ? "firing" : "resolved",
            "isFiring": alert.isFiring,
            "labels": alert.labels.dictionary,
            "labelList": Self.list(alert.labels.dictionary),
            "annotations": alert.annotations.dictionary,
            "annotationList": Self.list(alert.annotations.dictionary),
            "startsAt": Self.rfc3339(alert.startsAt),
            "startsAtText": Self.human(alert.startsAt, now: now),
            "fingerprint": alert.fingerprint.description,
            "repeatCount": alert.repeatCount,
            "hasRepeats": alert.repeatCount > 0,
            "repeatText": alert.repeatCount > 0 ? "reported \(alert.repeatCount) more time\(alert.repeatCount == 1 ? "" : "s")" : "",
        ]
        // Only a safe absolute http(s) URL reaches a template (see `SafeURL`):
        // Slack reads `<{{generatorURL}}|source>` as a link or a mention. Left
        // out otherwise: Mustache treats an empty string as true, which
        // rendered a bare `<|source>`.
        if let url = SafeURL.absoluteHTTP(alert.generatorURL) { context["generatorURL"] = url }
        if let endsAt = alert.endsAt {
            context["endsAt"] = Self.rfc3339(endsAt)
            context["endsAtText"] = Self.human(endsAt, now: now)
            context["durationText"] = Self.duration(endsAt.timeIntervalSince(alert.startsAt))
        }
        if let value = alert.currentValue { context["currentValue"] = Self.number(value) }
        if let value = alert.thresholdValue { context["thresholdValue"] = Self.number(value) }
        if let value = alert.iteration { context["iteration"] = String(value) }
        switch (alert.currentValue, alert.thresholdValue) {
        case (let value?, let threshold?): context["valueText"] = "value \(Self.number(value)), threshold \(Self.number(threshold))"
        case (let value?, nil): context["valueText"] = "value \(Self.number(value))"
        case (nil, let threshold?): context["valueText"] = "threshold \(Self.number(threshold))"
        default: break
        }
        if !notified.silencedBy.isEmpty { context["silencedBy"] = notified.silencedBy }
        if !notified.inhibitedBy.isEmpty { context["inhibitedBy"] = notified.inhibitedBy.map(\.description) }
        return context
    }

    static func list(_ map: [String: String]) -> [[String: String]] {
        map.keys.sorted().map { ["name": $0, "value": map[$0]!] }
    }

    static func text(_ map: [String: String]) -> String {
        map.keys.sorted().map { "\($0)=\(map[$0]!)" }.joined(separator: " ")
    }

    static func commonAnnotations(_ alerts: [Alert]) -> [String: String] {
        guard let first = alerts.first else { return [:] }
        return first.annotations.dictionary.filter { name, value in alerts.allSatisfy { $0.annotations[name] == value } }
    }

    static func rfc3339(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon).timeZone(separator: .omitted))
    }

    static func human(_ date: Date, now: Date) -> String {
        let stamp = date.formatted(.iso8601.year().month().day().dateSeparator(.dash).dateTimeSeparator(.space).time(includingFractionalSeconds: false).timeSeparator(.colon))
        let elapsed = now.timeIntervalSince(date)
        return elapsed >= 0 ? "\(stamp) UTC (\(duration(elapsed)) ago)" : "\(stamp) UTC"
    }

    static func duration(_ seconds: Double) -> String {
        // Clamped: times come from publishers (bounded at ingest, but a
        // template must never trap on a duration).
        let total = seconds.isFinite ? Int(min(max(seconds, 0), 1e12).rounded()) : 0
        if total < 60 { return "\(total)s" }
        if total < 3600 { return "\(total / 60)m" + (total % 60 > 0 ? " \(total % 60)s" : "") }
        if total < 86400 { return "\(total / 3600)h" + (total % 3600 / 60 > 0 ? " \(total % 3600 / 60)m" : "") }
        return "\(total / 86400)d" + (total % 86400 / 3600 > 0 ? " \(total % 86400 / 3600)h" : "")
    }

    static func number(_ value: Double) -> String {
        if value.rounded() == value && abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: "%.4g", value)
    }
}
