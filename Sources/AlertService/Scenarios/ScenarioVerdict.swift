import AlertCore
import Foundation

/// What a scenario's run did against what it expected: each failure as a
/// readable block (docs/testing-configs.md, "Reading a failure").
public struct ScenarioVerdict: Sendable {
    public var scenario: String
    public var path: String
    public var line: Int?
    public var failures: [String]
    /// Everything sent up to `until`, in time order.
    public var sent: [CapturedNotification]
    public var passed: Bool { failures.isEmpty }

    /// Matches expectations to what was sent, in order: an expectation takes
    /// the notifications sent at its time to its receiver (and integration
    /// and group, when given); without an integration, every integration's
    /// copy of a matching notification. What no expectation takes is unexpected.
    public init(_ scenario: ConfigScenario, sent: [CapturedNotification]) {
        self.scenario = scenario.name
        path = scenario.path
        line = scenario.line
        failures = []
        self.sent = sent
        var unclaimed = Array(sent.indices)
        for expectation in scenario.expectations {
            let candidates = unclaimed.filter { Self.addresses(expectation, sent[$0]) }
            let matching = candidates.filter { Self.alertsMatch(expectation, sent[$0]) }
            if let first = matching.first {
                let taken = expectation.integration == nil ? matching.filter { sent[$0].groupKey == sent[first].groupKey } : [first]
                unclaimed.removeAll { taken.contains($0) }
            } else if let closest = candidates.min(by: { Self.distance(expectation, sent[$0]) < Self.distance(expectation, sent[$1]) }) {
                failures.append(Self.difference(expectation, sent[closest]))
                let taken = candidates.filter { sent[$0].groupKey == sent[closest].groupKey && Self.sameAlerts(sent[$0], sent[closest]) }
                unclaimed.removeAll { taken.contains($0) }
            } else {
                failures.append(Self.missing(expectation, sent: sent))
            }
        }
        // Copies of one notification for several integrations are reported once.
        var reported: [CapturedNotification] = []
        for index in unclaimed {
            let notification = sent[index]
            if let previous = reported.last, previous.at == notification.at, previous.groupKey == notification.groupKey,
               previous.receiver == notification.receiver, Self.sameAlerts(previous, notification) {
                reported[reported.count - 1].integration = [previous.integration, notification.integration].compactMap { $0 }.joined(separator: ", ")
                continue
            }
            reported.append(notification)
        }
        failures += reported.map { "unexpected notification:\n" + Self.describe($0, indent: "    ") }
    }

    /// Indented lines: `ok  name` or `FAIL name (path, line n)` with each failure below.
    public var report: String {
        guard !passed else { return "  ok    \(scenario)" }
        let location = line.map { "\(path), line \($0)" } ?? path
        var lines = ["  FAIL  \(scenario) (\(location))"]
        for failure in failures {
            lines += failure.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { index, line in
                (index == 0 ? "    - " : "      ") + line
            }
        }
        return lines.joined(separator: "\n")
    }

    /// What was sent, one notification per integration, for writing expectations (`test --show-sent`).
    public var transcript: String {
        sent.isEmpty ? "      (nothing sent)" : sent.map { Self.describe($0, indent: "      ") }.joined(separator: "\n")
    }

    // MARK: Matching

    static func addresses(_ expectation: ExpectedNotification, _ notification: CapturedNotification) -> Bool {
        guard notification.at == expectation.at, notification.receiver == expectation.receiver else { return false }
        if let wanted = expectation.integration, !integration(notification.integration, is: wanted) { return false }
        if let group = expectation.group, group != notification.groupLabels.dictionary { return false }
        return true
    }

    /// `slack` names every Slack integration; `slack/1` or `slack[1]` one of them.
    static func integration(_ name: String?, is wanted: String) -> Bool {
        guard let name else { return false }
        let normalized = wanted.replacingOccurrences(of: "[", with: "/").replacingOccurrences(of: "]", with: "")
        return name == normalized || name.hasPrefix(normalized + "/")
    }

    /// How many alerts are missing or unexpected: the notification a failed expectation is compared with is the nearest.
    static func distance(_ expectation: ExpectedNotification, _ notification: CapturedNotification) -> Int {
        let firing = pair(expectation.firing, notification.firing)
        let resolved = pair(expectation.resolved, notification.resolved)
        return firing.missing.count + firing.unexpected.count + resolved.missing.count + resolved.unexpected.count
    }

    static func alertsMatch(_ expectation: ExpectedNotification, _ notification: CapturedNotification) -> Bool {
        distance(expectation, notification) == 0
    }

    static func sameAlerts(_ a: CapturedNotification, _ b: CapturedNotification) -> Bool {
        Set(a.firing) == Set(b.firing) && Set(a.resolved) == Set(b.resolved)
    }

    /// Pairs each expected alert (labels it must have) with a distinct sent
    /// alert; the most specific expectations choose first.
    static func pair(_ expected: [[String: String]], _ sent: [LabelSet]) -> (missing: [[String: String]], unexpected: [LabelSet]) {
        var left = sent
        var missing: [[String: String]] = []
        for wanted in expected.sorted(by: { $0.count > $1.count }) {
            if let index = left.firstIndex(where: { alert in wanted.allSatisfy { alert[$0.key] == $0.value } }) {
                left.remove(at: index)
            } else {
                missing.append(wanted)
            }
        }
        return (missing, left)
    }

    // MARK: Text

    static func heading(_ expectation: ExpectedNotification) -> String {
        let location = expectation.line.map { "\(expectation.path) (line \($0))" } ?? expectation.path
        var target = expectation.receiver
        if let integration = expectation.integration { target += " (\(integration))" }
        if let group = expectation.group { target += ", group " + LabelSet(group).description }
        return "\(location): at \(time(expectation.at)) to \(target)"
    }

    static func difference(_ expectation: ExpectedNotification, _ notification: CapturedNotification) -> String {
        var lines = [heading(expectation) + ": the notification sent differs"]
        for (kind, expected, sent) in [("firing", expectation.firing, notification.firing), ("resolved", expectation.resolved, notification.resolved)] {
            let (missing, unexpected) = pair(expected, sent)
            lines += missing.map { "  missing \(kind):    \(LabelSet($0))" }
            lines += unexpected.map { "  unexpected \(kind): \($0.description)" }
        }
        lines.append("  sent:")
        lines.append(describe(notification, indent: "    "))
        return lines.joined(separator: "\n")
    }

    static func missing(_ expectation: ExpectedNotification, sent: [CapturedNotification]) -> String {
        var lines = [heading(expectation) + ": nothing matching was sent"]
        let sameTime = sent.filter { $0.at == expectation.at }
        if sameTime.isEmpty {
            lines.append("  nothing was sent at \(time(expectation.at))")
        } else {
            lines.append("  sent at \(time(expectation.at)):")
            lines += sameTime.map { describe($0, indent: "    ") }
        }
        let times = sent.filter { $0.receiver == expectation.receiver }.map(\.at)
        let distinct = times.enumerated().filter { $0.offset == 0 || times[$0.offset - 1] != $0.element }.map { time($0.element) }
        lines.append("  \(expectation.receiver) got notifications at: " + (distinct.isEmpty ? "never" : distinct.joined(separator: ", ")))
        return lines.joined(separator: "\n")
    }

    static func describe(_ notification: CapturedNotification, indent: String) -> String {
        var lines = ["\(indent)at \(time(notification.at)) to \(notification.receiver)"
            + (notification.integration.map { " (\($0))" } ?? "") + ", group \(notification.groupLabels)"]
        lines += notification.firing.map { "\(indent)  firing:   \($0.description)" }
        lines += notification.resolved.map { "\(indent)  resolved: \($0.description)" }
        return lines.joined(separator: "\n")
    }

    /// Seconds after the start in Prometheus notation (`10m30s`).
    public static func time(_ seconds: Double) -> String {
        PrometheusDuration.format(.milliseconds(Int64((seconds * 1000).rounded())))
    }
}
