/// A comparison of a value against a threshold: `> 80`, `< 0.1`, `>= 3`.
public struct Condition: Sendable, Equatable, CustomStringConvertible {
    public enum Comparison: String, Sendable, CaseIterable {
        case greater = ">"
        case greaterOrEqual = ">="
        case less = "<"
        case lessOrEqual = "<="
        case equal = "=="
        case notEqual = "!="
    }

    public var comparison: Comparison
    public var threshold: Double

    public init(_ comparison: Comparison, _ threshold: Double) {
        self.comparison = comparison
        self.threshold = threshold
    }

    /// Parses `<op> <number>`, spaces optional: `"> 80"`, `"<=0.1"`, `"!= 0"`.
    public init?(parsing text: String) {
        let trimmed = text.drop(while: { $0 == " " })
        // Two-character operators first, so ">=" is not read as ">" "=…".
        let ordered = Comparison.allCases.sorted { $0.rawValue.count > $1.rawValue.count }
        guard let comparison = ordered.first(where: { trimmed.hasPrefix($0.rawValue) }) else { return nil }
        let number = trimmed.dropFirst(comparison.rawValue.count).trimmingSpaces()
        guard let threshold = Double(number), threshold.isFinite else { return nil }
        self.init(comparison, threshold)
    }

    @inline(__always)
    public func holds(_ value: Double) -> Bool {
        switch comparison {
        case .greater: value > threshold
        case .greaterOrEqual: value >= threshold
        case .less: value < threshold
        case .lessOrEqual: value <= threshold
        case .equal: value == threshold
        case .notEqual: value != threshold
        }
    }

    public var description: String { "\(comparison.rawValue) \(RuleFormat.number(threshold))" }
}

/// How far back a rule looks: the last N samples, or a span of time.
public enum RuleWindow: Sendable, Equatable, CustomStringConvertible {
    case samples(Int)
    case duration(Duration)

    public var description: String {
        switch self {
        case .samples(let count): "\(count) samples"
        case .duration(let duration): PrometheusDuration.format(duration)
        }
    }
}

/// The function of a rolling-aggregate rule.
public enum Aggregation: String, Sendable, CaseIterable {
    case avg, min, max, sum
    /// Per-second increase of a counter over the window (resets handled as Prometheus does).
    case rate
}

/// What a rule watches for. Each kind turns a series' samples (or events)
/// into one observed number, compared with the rule's condition.
public enum RuleKind: Sendable, Equatable {
    /// The sample's value meets the condition; with `holdFor` it must keep
    /// meeting it for that many samples or that long before the alert fires.
    case threshold(Condition, holdFor: RuleWindow?)
    /// The condition held for each of the last N samples.
    case consecutive(Condition, samples: Int)
    /// An aggregate of the window's samples meets the condition. A sample-count
    /// window needs all N samples; a time window at least `minSamples`.
    case aggregate(Aggregation, window: RuleWindow, Condition, minSamples: Int)
    /// At least `count` events (AlertEvents on the rule's subjects, matching
    /// its matchers) within `window`: one alert carrying the count.
    case eventCount(count: Int, window: Duration)
    /// Nothing (sample or event) arrived on the rule's subjects for `after`.
    case absence(after: Duration)
    /// The value has not changed for N samples or for a duration (staleness).
    case unchanged(RuleWindow)

    /// The config name of the kind.
    public var name: String {
        switch self {
        case .threshold: "threshold"
        case .consecutive: "consecutive"
        case .aggregate: "aggregate"
        case .eventCount: "event_count"
        case .absence: "absence"
        case .unchanged: "change"
        }
    }

    /// Whether the rule reads AlertEvents (event_count) rather than samples.
    public var readsEvents: Bool {
        if case .eventCount = self { return true }
        return false
    }

    /// Whether time alone can change the rule's state (checked by `RuleEvaluator.advance`).
    var isTimeDriven: Bool {
        switch self {
        case .threshold(_, holdFor: .duration?), .eventCount, .absence, .unchanged(.duration): true
        default: false
        }
    }
}

/// An alert that changes state more than `maxChanges` times within `window`
/// is marked flapping: it is held firing (one notification, annotated
/// `flapping: "true"`) until it has not changed state for `window`.
public struct FlappingPolicy: Sendable, Equatable {
    public var maxChanges: Int
    public var window: Duration

    public init(maxChanges: Int, window: Duration) {
        self.maxChanges = maxChanges
        self.window = window
    }
}

/// One configured event-stream rule (`rules:` in the config). Its alerts
/// have `alertname` = `name` (the `alert_type`), the rule's `severity` and
/// `labels`, plus the `group_by` labels of the series that raised them.
public struct EventRule: Sendable, Equatable {
    public var name: String
    public var kind: RuleKind
    public var severity: Severity
    public var labels: [String: String]
    /// Values may use `{{value}}`, `{{threshold}}`, `{{iteration}}` and
    /// `{{labels.NAME}}`, filled in when the alert fires or resolves.
    public var annotations: [String: String]
    /// Where the rule's samples (or events) arrive.
    public var subjects: [SubjectPattern]
    /// Only samples with this `name` (all when nil).
    public var metric: String?
    /// Only samples (or, for event_count, events) whose labels match all of these.
    public var matchers: [Matcher]
    /// One series per distinct value set of these labels (`source` and
    /// `subject` name the sample's fields when no label has the name).
    public var groupBy: [String]
    /// Hysteresis: a firing alert resolves only once this holds (e.g. fire
    /// below 0.1, clear above 0.3). Without it, when the condition stops holding.
    public var clear: Condition?
    public var flapping: FlappingPolicy?

    public init(name: String, kind: RuleKind, severity: Severity = .warning, labels: [String: String] = [:],
                annotations: [String: String] = [:], subjects: [SubjectPattern], metric: String? = nil,
                matchers: [Matcher] = [], groupBy: [String] = [], clear: Condition? = nil, flapping: FlappingPolicy? = nil) {
        self.name = name
        self.kind = kind
        self.severity = severity
        self.labels = labels
        self.annotations = annotations
        self.subjects = subjects
        self.metric = metric
        self.matchers = matchers
        self.groupBy = groupBy
        self.clear = clear
        self.flapping = flapping
    }

    /// The threshold an alert reports as `threshold_value`.
    public var thresholdValue: Double {
        switch kind {
        case .threshold(let condition, _), .consecutive(let condition, _), .aggregate(_, _, let condition, _): condition.threshold
        case .eventCount(let count, _): Double(count)
        case .absence(let after): after.seconds
        case .unchanged(.samples(let count)): Double(count)
        case .unchanged(.duration(let duration)): duration.seconds
        }
    }

    /// Everything that shapes a series' kept state. A restart with a rule
    /// whose signature changed keeps the series' firing state but starts
    /// its window afresh (an old window may not fit the new definition).
    public var signature: String {
        "\(kind)|\(groupBy)|\(clear.map(\.description) ?? "")|\(flapping.map { "\($0.maxChanges)/\($0.window)" } ?? "")"
    }

    /// The condition in words: `> 80`, `avg over 10 samples < 0.2`, `nothing received for 2m`.
    public var conditionDescription: String {
        var text = RuleAnnotations.describe(self)
        if let clear { text += ", clears at \(clear)" }
        if !groupBy.isEmpty { text += ", per \(groupBy.joined(separator: ", "))" }
        return text
    }

    /// Whether time alone can change a series' state.
    var isTimeDriven: Bool { kind.isTimeDriven || flapping != nil }
}

enum RuleFormat {
    /// `80`, `0.1`, `12.5`: integers without a fraction.
    static func number(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
