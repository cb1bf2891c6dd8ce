/// How often a group is notified again while nothing changed.
public enum RepeatInterval: Sendable, Hashable, CustomStringConvertible {
    case every(Duration)
    /// Notify once, never repeat: for terminal events (a crash, a diverged run).
    case never

    public var description: String {
        switch self {
        case .every(let duration): PrometheusDuration.format(duration)
        case .never: "never"
        }
    }
}

/// Which labels split alerts into aggregation groups.
public enum GroupBy: Sendable, Hashable, CustomStringConvertible {
    /// Only these labels (an empty list puts every alert of the route in one group).
    case labels([String])
    /// `group_by: ['...']`: every label, i.e. one group per alert.
    case all

    public var description: String {
        switch self {
        case .labels(let names): "[" + names.joined(separator: ", ") + "]"
        case .all: "[...]"
        }
    }
}

/// A route of the routing tree, as written in the config: options left nil
/// are inherited from the parent (Alertmanager's rules).
public struct RouteConfiguration: Sendable, Equatable {
    public var receiver: String?
    public var matchers: [Matcher]
    /// nats-alerter: NATS subject patterns matched against the `subject` label.
    public var subjects: [String]
    public var continueMatching: Bool
    public var groupBy: GroupBy?
    public var groupWait: Duration?
    public var groupInterval: Duration?
    public var repeatInterval: RepeatInterval?
    public var muteTimeIntervals: [String]
    public var activeTimeIntervals: [String]
    /// nats-alerter: send the resolve of a notified alert even when it is
    /// silenced or inhibited by then (Alertmanager #226).
    public var sendResolvedWhenMuted: Bool?
    public var routes: [RouteConfiguration]

    public init(
        receiver: String? = nil, matchers: [Matcher] = [], subjects: [String] = [], continueMatching: Bool = false,
        groupBy: GroupBy? = nil, groupWait: Duration? = nil, groupInterval: Duration? = nil,
        repeatInterval: RepeatInterval? = nil, muteTimeIntervals: [String] = [], activeTimeIntervals: [String] = [],
        sendResolvedWhenMuted: Bool? = nil, routes: [RouteConfiguration] = []
    ) {
        self.receiver = receiver
        self.matchers = matchers
        self.subjects = subjects
        self.continueMatching = continueMatching
        self.groupBy = groupBy
        self.groupWait = groupWait
        self.groupInterval = groupInterval
        self.repeatInterval = repeatInterval
        self.muteTimeIntervals = muteTimeIntervals
        self.activeTimeIntervals = activeTimeIntervals
        self.sendResolvedWhenMuted = sendResolvedWhenMuted
        self.routes = routes
    }
}

/// A node of the resolved routing tree: every option filled in from its
/// ancestors. Immutable; `match` is a pure function of the labels, as
/// Alertmanager's `dispatch/route.go`.
public final class Route: Sendable, CustomStringConvertible {
    public let receiver: String
    public let matchers: Matchers
    public let subjects: [SubjectPattern]
    public let continueMatching: Bool
    public let groupBy: GroupBy
    public let groupWait: Duration
    public let groupInterval: Duration
    public let repeatInterval: RepeatInterval
    public let muteTimeIntervals: [String]
    public let activeTimeIntervals: [String]
    public let sendResolvedWhenMuted: Bool
    public let routes: [Route]
    /// Alertmanager's route key: the parent's key, "/", this route's matchers
    /// sorted and joined with "," (plus nats-alerter's subject patterns when
    /// set). Part of group keys, so it stays stable across reloads that keep
    /// the route, even when they reorder its matchers.
    public let key: String
    /// Depth-first position, for printing.
    public let depth: Int

    /// Alertmanager's defaults for the root route.
    public static let defaultGroupWait: Duration = .seconds(30)
    public static let defaultGroupInterval: Duration = .seconds(300)
    public static let defaultRepeatInterval: RepeatInterval = .every(.seconds(4 * 3600))

    /// Builds the tree from the root's configuration. The root must name a
    /// receiver (validated by the config loader).
    public convenience init(root: RouteConfiguration) {
        self.init(root, parent: nil)
    }

    /// The options a child inherits.
    private struct Inherited {
        var receiver: String
        var groupBy: GroupBy
        var groupWait: Duration
        var groupInterval: Duration
        var repeatInterval: RepeatInterval
        var sendResolvedWhenMuted: Bool
        var key: String
        var depth: Int
    }

    private init(_ config: RouteConfiguration, parent: Inherited?) {
        receiver = config.receiver ?? parent?.receiver ?? ""
        matchers = Matchers(config.matchers)
        subjects = config.subjects.map(SubjectPattern.init)
        continueMatching = config.continueMatching
        groupBy = config.groupBy ?? parent?.groupBy ?? .labels([])
        groupWait = config.groupWait ?? parent?.groupWait ?? Self.defaultGroupWait
        groupInterval = config.groupInterval ?? parent?.groupInterval ?? Self.defaultGroupInterval
        repeatInterval = config.repeatInterval ?? parent?.repeatInterval ?? Self.defaultRepeatInterval
        // Time intervals are not inherited, as in Alertmanager.
        muteTimeIntervals = config.muteTimeIntervals
        activeTimeIntervals = config.activeTimeIntervals
        sendResolvedWhenMuted = config.sendResolvedWhenMuted ?? parent?.sendResolvedWhenMuted ?? false
        var key = parent.map { $0.key + "/" } ?? ""
        key += matchers.routeKeyComponent
        if !config.subjects.isEmpty { key += "subjects" + config.subjects.description }
        self.key = key
        depth = (parent?.depth ?? -1) + 1
        let inherited = Inherited(
            receiver: receiver, groupBy: groupBy, groupWait: groupWait, groupInterval: groupInterval,
            repeatInterval: repeatInterval, sendResolvedWhenMuted: sendResolvedWhenMuted, key: key, depth: depth
        )
        routes = config.routes.map { Route($0, parent: inherited) }
    }

    /// Whether this route's own conditions hold: matchers, and subject
    /// patterns against the `subject` label.
    public func accepts(_ labels: LabelSet) -> Bool {
        guard matchers.matches(labels) else { return false }
        if subjects.isEmpty { return true }
        let subject = labels["subject"] ?? ""
        return subjects.contains { $0.matches(subject) }
    }

    /// The routes an alert with these labels goes to (Alertmanager's
    /// `Route.Match`): depth first, the first matching child wins unless it
    /// says `continue`; a node whose children all miss takes the alert itself.
    public func match(_ labels: LabelSet) -> [Route] {
        guard accepts(labels) else { return [] }
        var all: [Route] = []
        for child in routes {
            let matches = child.match(labels)
            all.append(contentsOf: matches)
            if !matches.isEmpty && !child.continueMatching { break }
        }
        if all.isEmpty { all.append(self) }
        return all
    }

    /// The labels an alert is grouped by on this route.
    public func groupLabels(for labels: LabelSet) -> LabelSet {
        switch groupBy {
        case .all:
            return labels
        case .labels(let names):
            return LabelSet(names.compactMap { name in labels[name].map { (name, $0) } })
        }
    }

    /// Whether `groupLabels(for: labels)` would be `group`, compared as
    /// bytes (as group keys are), without building it.
    func hasGroupLabels(_ group: LabelSet, _ labels: LabelSet) -> Bool {
        switch groupBy {
        case .all:
            return labels == group
        case .labels(let names):
            // `group` holds only these names (built by `groupLabels` on this route):
            // equal values for each, or absent from both, is the same label set.
            for name in names {
                switch (labels[name], group[name]) {
                case (nil, nil): continue
                case (let value?, let held?) where value.utf8.elementsEqual(held.utf8): continue
                default: return false
                }
            }
            return true
        }
    }

    /// Every node, depth first.
    public var allRoutes: [Route] {
        [self] + routes.flatMap(\.allRoutes)
    }

    /// The tree as indented text, one route per line (for check-config).
    public var treeDescription: String {
        allRoutes.map { route in
            var line = String(repeating: "  ", count: route.depth) + "- receiver: \(route.receiver)"
            if !route.matchers.isEmpty { line += "  matchers: \(route.matchers)" }
            if !route.subjects.isEmpty { line += "  subjects: \(route.subjects.map(\.description))" }
            line += "  group_by: \(route.groupBy)"
            line += "  group_wait: \(PrometheusDuration.format(route.groupWait))"
            line += "  group_interval: \(PrometheusDuration.format(route.groupInterval))"
            line += "  repeat_interval: \(route.repeatInterval)"
            if route.continueMatching { line += "  continue: true" }
            if !route.muteTimeIntervals.isEmpty { line += "  mute_time_intervals: \(route.muteTimeIntervals)" }
            if !route.activeTimeIntervals.isEmpty { line += "  active_time_intervals: \(route.activeTimeIntervals)" }
            if route.sendResolvedWhenMuted { line += "  send_resolved_when_muted: true" }
            return line
        }.joined(separator: "\n")
    }

    public var description: String { key }
}
