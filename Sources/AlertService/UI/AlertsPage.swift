import AlertCore
import AlertNotify
import Foundation

/// The alerts page (`/`): firing alerts as the routing tree groups them —
/// receiver, then aggregation group — each with its mute state, labels,
/// annotations and where it came from; filtered by Alertmanager matchers.
struct AlertsPage {
    /// A label as a chip: clicking it adds `name="value"` to the filter.
    struct Chip {
        var name: String
        var value: String
        var href: String
    }

    struct Annotation {
        var name: String
        var value: String
        /// Set only for a link annotation (`runbook_url`) whose value passes `SafeURL`.
        var link: String?
    }

    struct MutingAlert {
        var fingerprint: String
        var alertname: String
    }

    struct Row {
        var fingerprint: String
        var state: String
        var silencedBy: [String]
        var inhibitedBy: [MutingAlert]
        var labels: [Chip]
        var annotations: [Annotation]
        var generatorURL: String?
        /// A generator URL that is not http(s): shown as text, never as a link.
        var generatorText: String?
        var startsAt: String
        var repeatCount: Int
        var subject: String
        var silenceHref: String
    }

    struct Group {
        var labels: [Chip]
        var alerts: [Row]
    }

    struct Receiver {
        var name: String
        var groups: [Group]
        var count: Int
    }

    /// Annotations whose value is a link when it is an absolute http(s) URL.
    static let linkAnnotations: Set<String> = ["runbook_url", "dashboard_url"]

    var chrome: UIChrome
    var filter: String
    var filtered: Bool
    var filterError: String?
    var receivers: [Receiver]
    var total: Int
    /// Set when more alerts match than the page lists.
    var truncated: String?

    /// - Parameter limit: the most alerts listed (a page of a million alerts helps no one; the filter narrows it).
    init(runtime: Alerter, filterTexts: [String], session: UISession.State, limit: Int = 1000) async {
        chrome = UIChrome(title: "Alerts", path: "/", session: session)
        var matchers: [Matcher] = []
        do {
            for text in filterTexts { matchers += try MatcherParser.parseMatchers(text) }
        } catch {
            filterError = "\(error)"
            matchers = []
        }
        filter = filterError != nil ? filterTexts.joined(separator: ", ") : matchers.isEmpty ? "" : Matchers(matchers).description
        filtered = !matchers.isEmpty
        let now = runtime.clock.now()
        let groups = await runtime.engine.groups
        var alerts: [Fingerprint: Alert] = [:]
        for group in groups {
            for fingerprint in group.fingerprints where alerts[fingerprint] == nil {
                if let alert = runtime.store.alert(fingerprint), alert.isFiring, matchers.allSatisfy({ $0.matches(alert.labels) }) {
                    alerts[fingerprint] = alert
                }
            }
        }
        let status = await runtime.engine.status(of: Array(alerts.values), at: now)
        var byReceiver: [String: [Group]] = [:]
        var listed = 0
        for group in groups where listed < limit {
            let rows = group.fingerprints.prefix(limit - listed).compactMap { fingerprint -> Row? in
                guard let alert = alerts[fingerprint], let entry = status[fingerprint] else { return nil }
                return Self.row(alert, silencedBy: entry.silencedBy, inhibitedBy: entry.inhibitedBy.map { inhibitor in
                    MutingAlert(fingerprint: inhibitor.description, alertname: runtime.store.alert(inhibitor)?.labels["alertname"] ?? "")
                }, filter: matchers)
            }
            if rows.isEmpty { continue }
            listed += rows.count
            byReceiver[group.receiver, default: []].append(Group(labels: Self.chips(group.labels, filter: matchers), alerts: rows))
        }
        receivers = byReceiver.keys.sorted().map { name in
            let groups = byReceiver[name]!.sorted { $0.labels.map(\.value).lexicographicallyPrecedes($1.labels.map(\.value)) }
            return Receiver(name: name, groups: groups, count: groups.reduce(0) { $0 + $1.alerts.count })
        }
        total = alerts.count
        if listed < groups.reduce(0, { $0 + $1.fingerprints.filter { alerts[$0] != nil }.count }) {
            truncated = "The first \(listed) are listed; narrow the filter to see the rest."
        }
    }

    static func row(_ alert: Alert, silencedBy: [String], inhibitedBy: [MutingAlert], filter: [Matcher]) -> Row {
        let state = !silencedBy.isEmpty ? "silenced" : !inhibitedBy.isEmpty ? "inhibited" : "active"
        let annotations = alert.annotations.sorted { $0.key < $1.key }.map { name, value in
            Annotation(name: name, value: value, link: linkAnnotations.contains(name) ? SafeURL.absoluteHTTP(value) : nil)
        }
        let generator = alert.generatorURL.isEmpty ? nil : alert.generatorURL
        let silenceMatchers = Matchers(alert.labels.compactMap { try? Matcher(name: $0.name, type: .equal, value: $0.value) })
        return Row(
            fingerprint: alert.fingerprint.description, state: state, silencedBy: silencedBy, inhibitedBy: inhibitedBy,
            labels: chips(alert.labels, filter: filter), annotations: annotations,
            generatorURL: generator.flatMap(SafeURL.absoluteHTTP), generatorText: generator.flatMap { SafeURL.absoluteHTTP($0) == nil ? $0 : nil },
            startsAt: UIPage.time(alert.startsAt), repeatCount: alert.repeatCount, subject: alert.labels["subject"] ?? "",
            silenceHref: "/ui/silences/new?matchers=" + UIPage.queryValue(silenceMatchers.description))
    }

    /// Each label with a link to this page filtered by the current matchers plus `name="value"`.
    static func chips(_ labels: LabelSet, filter: [Matcher]) -> [Chip] {
        labels.map { label in
            let added = (try? Matcher(name: label.name, type: .equal, value: label.value)).map { filter + [$0] } ?? filter
            return Chip(name: label.name, value: label.value, href: "/?filter=" + UIPage.queryValue(Matchers(added).description))
        }
    }
}
