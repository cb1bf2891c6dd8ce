/// The state of one series of one rule: the rule's window over the series'
/// samples, whether its condition holds, and what the alert store was told.
/// Persisted in durable mode (`StateRecordFormat`; JSON before), so windows
/// and firing state survive a restart. Times are milliseconds since the Unix epoch.
///
/// A value type mutated in place under `RuleEvaluator`'s lock; evaluating a
/// sample touches only this struct (no allocation once the window is full).
public struct RuleSeries: Sendable, Equatable, Codable {
    /// What a step asks of the alert store.
    enum Decision: Equatable {
        case none
        /// Raise the alert (or, if already firing, replace its annotations).
        case fire
        /// Firing and still firing: new current value and iteration only.
        case update
        case resolve
    }

    public let rule: String
    /// The values of the rule's `group_by` labels, in that order.
    public let group: [String]
    /// The rule's `signature` when this state was built.
    public internal(set) var signature: String
    /// The alert's identity (computed from the rule and group; kept for lookups).
    public internal(set) var fingerprint: Fingerprint
    /// Whether the rule's condition (with hysteresis) currently says "firing".
    public internal(set) var conditionFiring = false
    /// Whether the alert store holds the alert as firing because of this series.
    public internal(set) var alertFiring = false
    public internal(set) var flapping = false
    /// Samples in a row for which the fire condition held, and when the run began.
    var streak = 0
    var streakSince: Int64 = 0
    var window: SampleRing
    /// The number last compared with the condition (`current_value`).
    public internal(set) var observed: Double = 0
    public internal(set) var lastValue: Double?
    public internal(set) var lastIteration: Int64?
    public internal(set) var lastSeen: Int64
    /// Samples in a row carrying the same value, and when the value last changed.
    var unchangedRun = 0
    var lastChange: Int64
    /// Times of the latest condition changes (at most `maxChanges + 1`), for flapping.
    var changes: [Int64] = []
    /// Changed since persisted last.
    var dirty = true
    /// Where `RuleEvaluator` keeps it (not persisted).
    var slot: UInt64 = 0

    init(rule: EventRule, group: [String], fingerprint: Fingerprint, at now: Int64) {
        self.rule = rule.name
        self.group = group
        self.signature = rule.signature
        self.fingerprint = fingerprint
        self.window = SampleRing(capacity: Self.windowCapacity(rule.kind))
        self.lastSeen = now
        self.lastChange = now
    }

    /// Samples (or event times) a rule keeps per series; time windows are capped.
    public static let maxWindowSamples = 10_000

    static func windowCapacity(_ kind: RuleKind) -> Int {
        switch kind {
        case .aggregate(_, .samples(let count), _, _): count
        case .aggregate(_, .duration, _, _): maxWindowSamples
        case .eventCount: maxWindowSamples
        default: 1
        }
    }

    /// Starts the window afresh for a changed rule; firing state is kept.
    mutating func adopt(_ rule: EventRule) {
        guard signature != rule.signature else { return }
        signature = rule.signature
        window = SampleRing(capacity: Self.windowCapacity(rule.kind))
        streak = 0
        unchangedRun = 0
        changes = []
        flapping = false
        dirty = true
    }

    // MARK: Evaluation

    /// One sample of the series, received at `now`.
    mutating func observe(sample value: Double, iteration: Int64?, rule: EventRule, at now: Int64) -> Decision {
        dirty = true
        lastSeen = now
        if let iteration { lastIteration = iteration }
        let previous = lastValue
        lastValue = value
        var fire = false
        var clear = false
        switch rule.kind {
        case .threshold(let condition, let holdFor):
            let holds = condition.holds(value)
            extendStreak(holds, at: now)
            observed = value
            switch holdFor {
            case nil: fire = holds
            case .samples(let count): fire = holds && streak >= count
            case .duration(let duration): fire = holds && now - streakSince >= duration.milliseconds
            }
            clear = rule.clear.map { $0.holds(value) } ?? !holds
        case .consecutive(let condition, let count):
            let holds = condition.holds(value)
            extendStreak(holds, at: now)
            observed = value
            fire = holds && streak >= count
            clear = rule.clear.map { $0.holds(value) } ?? !holds
        case .aggregate(let function, let span, let condition, let minSamples):
            window.append(value, at: now)
            let enough: Bool
            switch span {
            case .samples(let count):
                enough = window.count >= count
            case .duration(let duration):
                window.evict(before: now - duration.milliseconds)
                enough = window.count >= minSamples
            }
            guard enough, let aggregate = window.aggregate(function) else { return settle(at: now, rule.flapping) }
            observed = aggregate
            let holds = condition.holds(aggregate)
            fire = holds
            clear = rule.clear.map { $0.holds(aggregate) } ?? !holds
        case .unchanged(let span):
            if let previous, previous == value {
                unchangedRun += 1
            } else {
                unchangedRun = 1
                lastChange = now
            }
            let stale: Bool
            switch span {
            case .samples(let count):
                stale = unchangedRun >= count
                observed = Double(unchangedRun)
            case .duration(let duration):
                stale = now - lastChange >= duration.milliseconds
                observed = Double(now - lastChange) / 1000
            }
            fire = stale
            clear = !stale
        case .absence:
            // A sample is the opposite of absence.
            observed = 0
            clear = true
        case .eventCount:
            return .none
        }
        return decide(fire: fire, clear: clear, at: now, rule.flapping)
    }

    /// One event (event_count and absence rules).
    mutating func observe(eventAt now: Int64, rule: EventRule) -> Decision {
        dirty = true
        lastSeen = now
        switch rule.kind {
        case .eventCount(let count, let span):
            window.append(1, at: now)
            window.evict(before: now - span.milliseconds)
            observed = Double(window.count)
            return decide(fire: window.count >= count, clear: window.count < count, at: now, rule.flapping)
        case .absence:
            observed = 0
            return decide(fire: false, clear: true, at: now, rule.flapping)
        default:
            return .none
        }
    }

    /// What time alone changes: absence, held-for durations, staleness by
    /// time, events ageing out of a count window, flapping settling.
    mutating func advance(rule: EventRule, at now: Int64) -> Decision {
        switch rule.kind {
        case .absence(let after):
            let silent = now - lastSeen
            guard silent >= after.milliseconds || conditionFiring else { break }
            observed = Double(silent) / 1000
            return decide(fire: silent >= after.milliseconds, clear: silent < after.milliseconds, at: now, rule.flapping)
        case .threshold(_, .duration(let duration)):
            if !conditionFiring, streak > 0, now - streakSince >= duration.milliseconds {
                return decide(fire: true, clear: false, at: now, rule.flapping)
            }
        case .unchanged(.duration(let duration)):
            if !conditionFiring, lastValue != nil, now - lastChange >= duration.milliseconds {
                observed = Double(now - lastChange) / 1000
                return decide(fire: true, clear: false, at: now, rule.flapping)
            }
        case .eventCount(let count, let span):
            guard !window.isEmpty else { break }
            let before = window.count
            window.evict(before: now - span.milliseconds)
            if window.count != before {
                dirty = true
                observed = Double(window.count)
                return decide(fire: window.count >= count, clear: window.count < count, at: now, rule.flapping)
            }
        default:
            break
        }
        return flapping ? settle(at: now, rule.flapping) : .none
    }

    private mutating func extendStreak(_ holds: Bool, at now: Int64) {
        if holds {
            if streak == 0 { streakSince = now }
            streak += 1
        } else {
            streak = 0
        }
    }

    /// Applies the condition (with hysteresis: once firing, only `clear` ends it).
    private mutating func decide(fire: Bool, clear: Bool, at now: Int64, _ policy: FlappingPolicy?) -> Decision {
        let next = conditionFiring ? !clear : fire
        if next != conditionFiring {
            conditionFiring = next
            changes.append(now)
        }
        return settle(at: now, policy)
    }

    /// Turns the condition into what the store should hold, through the
    /// flapping policy: too many changes within the window hold the alert
    /// firing (one notification) until it has been still for the window.
    private mutating func settle(at now: Int64, _ policy: FlappingPolicy?) -> Decision {
        var wantFiring = conditionFiring
        var flappingChanged = false
        if let policy {
            let span = policy.window.milliseconds
            if changes.count > policy.maxChanges + 1 { changes.removeFirst(changes.count - policy.maxChanges - 1) }
            if flapping, let last = changes.last, now - last >= span {
                flapping = false
                flappingChanged = true
            } else if !flapping, changes.count > policy.maxChanges, let first = changes.first,
                      now - first <= span {
                flapping = true
                flappingChanged = true
            }
            if flapping { wantFiring = true }
        } else if changes.count > 1 {
            changes.removeFirst(changes.count - 1)
        }
        if flappingChanged { dirty = true }
        switch (alertFiring, wantFiring) {
        case (false, true):
            alertFiring = true
            return .fire
        case (true, false):
            alertFiring = false
            return .resolve
        case (true, true):
            return flappingChanged ? .fire : .update
        case (false, false):
            return .none
        }
    }

    // MARK: Persistence

    /// The key of this series in a state store.
    public var key: String { Self.key(rule: rule, group: group) }

    static func key(rule: String, group: [String]) -> String {
        ([rule] + group).joined(separator: "\u{0}")
    }

    enum CodingKeys: String, CodingKey {
        case rule, group, signature, fingerprint, conditionFiring, alertFiring, flapping, streak, streakSince
        case windowCapacity, windowValues, windowTimes, observed, lastValue, lastIteration, lastSeen, unchangedRun, lastChange, changes
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        rule = try c.decode(String.self, forKey: .rule)
        group = try c.decode([String].self, forKey: .group)
        signature = try c.decode(String.self, forKey: .signature)
        fingerprint = try c.decode(Fingerprint.self, forKey: .fingerprint)
        conditionFiring = try c.decode(Bool.self, forKey: .conditionFiring)
        alertFiring = try c.decode(Bool.self, forKey: .alertFiring)
        flapping = try c.decode(Bool.self, forKey: .flapping)
        streak = try c.decode(Int.self, forKey: .streak)
        streakSince = try c.decode(Int64.self, forKey: .streakSince)
        window = SampleRing(capacity: try c.decode(Int.self, forKey: .windowCapacity),
                            values: try c.decode([Double].self, forKey: .windowValues),
                            times: try c.decode([Int64].self, forKey: .windowTimes))
        observed = try c.decode(Double.self, forKey: .observed)
        lastValue = try c.decodeIfPresent(Double.self, forKey: .lastValue)
        lastIteration = try c.decodeIfPresent(Int64.self, forKey: .lastIteration)
        lastSeen = try c.decode(Int64.self, forKey: .lastSeen)
        unchangedRun = try c.decode(Int.self, forKey: .unchangedRun)
        lastChange = try c.decode(Int64.self, forKey: .lastChange)
        changes = try c.decode([Int64].self, forKey: .changes)
        dirty = false
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(rule, forKey: .rule)
        try c.encode(group, forKey: .group)
        try c.encode(signature, forKey: .signature)
        try c.encode(fingerprint, forKey: .fingerprint)
        try c.encode(conditionFiring, forKey: .conditionFiring)
        try c.encode(alertFiring, forKey: .alertFiring)
        try c.encode(flapping, forKey: .flapping)
        try c.encode(streak, forKey: .streak)
        try c.encode(streakSince, forKey: .streakSince)
        let samples = window.samples
        try c.encode(window.capacity, forKey: .windowCapacity)
        try c.encode(samples.values, forKey: .windowValues)
        try c.encode(samples.times, forKey: .windowTimes)
        try c.encode(observed, forKey: .observed)
        try c.encodeIfPresent(lastValue, forKey: .lastValue)
        try c.encodeIfPresent(lastIteration, forKey: .lastIteration)
        try c.encode(lastSeen, forKey: .lastSeen)
        try c.encode(unchangedRun, forKey: .unchangedRun)
        try c.encode(lastChange, forKey: .lastChange)
        try c.encode(changes, forKey: .changes)
    }

    public static func == (lhs: RuleSeries, rhs: RuleSeries) -> Bool {
        lhs.key == rhs.key && lhs.signature == rhs.signature && lhs.conditionFiring == rhs.conditionFiring
            && lhs.alertFiring == rhs.alertFiring && lhs.flapping == rhs.flapping && lhs.streak == rhs.streak
            && lhs.window == rhs.window && lhs.lastSeen == rhs.lastSeen && lhs.lastChange == rhs.lastChange
            && lhs.unchangedRun == rhs.unchangedRun && lhs.changes == rhs.changes
    }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
