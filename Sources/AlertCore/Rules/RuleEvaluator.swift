public import struct Foundation.Date
public import Synchronization

/// Evaluates the configured event-stream rules on samples and events, and
/// raises and resolves their alerts in the same `AlertStore` as event alerts
/// — so they take the same routes, silences, inhibition and receivers.
///
/// Threading: `observe` is called synchronously on the NATS delivery threads
/// (like `EventIngestor`), `advance` from the service's engine loop; the
/// series sit behind one `Mutex`. Lock order: this lock, then the store's.
/// Evaluating a sample of an existing series allocates nothing beyond what
/// the store's update needs: the series is found by a hash of its group
/// values, its window is a ring, and only transitions build an `AlertEvent`.
///
/// Time comes in as arguments; nothing here reads the clock.
public final class RuleEvaluator: Sendable {
    public let rules: [EventRule]
    private let store: AlertStore
    private let journal: StateJournal?
    /// Most series one rule keeps (group_by over an unbounded label must not grow memory without bound).
    public let maxSeriesPerRule: Int
    /// How often `advance` has work when a rule depends on time.
    public static let tick: Duration = .seconds(1)
    /// A series not seen for this long (plus its window) and not firing is forgotten.
    public static let idleTimeout: Duration = .seconds(3600)
    private let sampleRules: [Int]
    private let eventRules: [Int]
    private let timeDriven: Bool

    /// Samples evaluated (after subject and validity checks).
    public let samplesEvaluated = Atomic<Int>(0)
    /// New series refused because a rule reached `maxSeriesPerRule`.
    public let seriesRefused = Atomic<Int>(0)

    private struct State {
        var tables: [SeriesTable]
        /// Subject → indices of the rules it feeds; a subject's patterns are matched once.
        var sampleRulesBySubject: [String: [Int]] = [:]
        var eventRulesBySubject: [String: [Int]] = [:]
        var nextAdvance: Date?
    }

    private let state: Mutex<State>
    /// The rules boxed, so the hot path retains one reference instead of copying a rule's fields.
    private let compiled: [CompiledRule]

    public init(rules: [EventRule], store: AlertStore, journal: StateJournal? = nil, maxSeriesPerRule: Int = 10_000) {
        self.rules = rules
        self.store = store
        self.journal = journal
        self.maxSeriesPerRule = maxSeriesPerRule
        compiled = rules.map(CompiledRule.init)
        sampleRules = rules.indices.filter { !rules[$0].kind.readsEvents }
        eventRules = rules.indices.filter {
            switch rules[$0].kind {
            case .eventCount, .absence: true
            default: false
            }
        }
        timeDriven = rules.contains { $0.isTimeDriven }
        state = Mutex(State(tables: Array(repeating: SeriesTable(), count: rules.count)))
    }

    public var isEmpty: Bool { rules.isEmpty }

    /// Whether any rule reads events (`observe(_ event:at:)` does something):
    /// then every event must be decoded for it, and ingest does not take
    /// the duplicate fast path.
    public var readsEvents: Bool { !eventRules.isEmpty }

    // MARK: Input

    /// Evaluates one valid sample received at `now` against every rule it
    /// feeds; returns the alert transitions for the engine (usually none).
    public func observe(_ sample: MetricSample, at now: Date) -> [AlertTransition] {
        samplesEvaluated.add(1, ordering: .relaxed)
        let time = Self.milliseconds(now)
        return state.withLock { state in
            let indices = Self.rules(for: sample.subject, from: sampleRules, rules, &state.sampleRulesBySubject)
            var transitions: [AlertTransition] = []
            for index in indices {
                let entry = compiled[index]
                if let metric = entry.rule.metric, metric != (sample.name.isEmpty ? sample.subject : sample.name) { continue }
                guard entry.rule.matchers.allSatisfy({ $0.matches(sample.labels[$0.name] ?? "") }) else { continue }
                let lookup = { (name: String) -> String in
                    if let value = sample.labels[name] { return value }
                    switch name {
                    case "source": return sample.source
                    case "subject": return sample.subject
                    case "name": return sample.name
                    default: return ""
                    }
                }
                guard let position = locate(index, lookup, &state, at: time) else { continue }
                let decision = state.tables[index].series[position].observe(sample: sample.value, iteration: sample.iteration, rule: entry.rule, at: time)
                if decision != .none { act(decision, index, position, &state, at: now, into: &transitions) }
            }
            return transitions
        }
    }

    /// Feeds one valid AlertEvent to the rules that count events or watch
    /// for absence on its subject.
    public func observe(_ event: AlertEvent, at now: Date) -> [AlertTransition] {
        guard !eventRules.isEmpty else { return [] }
        let time = Self.milliseconds(now)
        return state.withLock { state in
            let indices = Self.rules(for: event.subject, from: eventRules, rules, &state.eventRulesBySubject)
            guard !indices.isEmpty else { return [] }
            let labels = event.alertLabels
            var transitions: [AlertTransition] = []
            for index in indices {
                let entry = compiled[index]
                guard entry.rule.matchers.allSatisfy({ $0.matches(labels) }) else { continue }
                guard let position = locate(index, { labels[$0] ?? "" }, &state, at: time) else { continue }
                let decision = state.tables[index].series[position].observe(eventAt: time, rule: entry.rule)
                if decision != .none { act(decision, index, position, &state, at: now, into: &transitions) }
            }
            return transitions
        }
    }

    // MARK: Time

    /// Runs what time alone changes (absence, held-for durations, staleness,
    /// count windows ageing, flapping settling) and forgets idle series.
    public func advance(to now: Date) -> [AlertTransition] {
        let time = Self.milliseconds(now)
        return state.withLock { state in
            if let next = state.nextAdvance, next > now { return [] }
            state.nextAdvance = now.addingTimeInterval(timeDriven ? Self.tick.seconds : 60)
            var transitions: [AlertTransition] = []
            for index in rules.indices {
                let entry = compiled[index]
                if entry.isAbsence, entry.rule.groupBy.isEmpty, state.tables[index].series.isEmpty {
                    // Watched from the start: a monitor that never reports is absent too.
                    _ = locate(index, { _ in "" }, &state, at: time)
                }
                var position = state.tables[index].series.count - 1
                while position >= 0 {
                    let decision = state.tables[index].series[position].advance(rule: entry.rule, at: time)
                    if decision != .none { act(decision, index, position, &state, at: now, into: &transitions) }
                    let idle = !state.tables[index].series[position].alertFiring && !state.tables[index].series[position].conditionFiring
                        && time - state.tables[index].series[position].lastSeen > entry.idleLimit
                    if idle, !entry.isAbsence {
                        journal?.append(.ruleSeriesRemoved(key: state.tables[index].series[position].key))
                        state.tables[index].remove(at: position)
                    }
                    position -= 1
                }
            }
            return transitions
        }
    }

    /// When `advance` next has work.
    public var nextDeadline: Date? {
        guard !rules.isEmpty else { return nil }
        return state.withLock { $0.nextAdvance } ?? Date(timeIntervalSince1970: 0)
    }

    // MARK: Persistence

    /// Journals every series changed since the last call (the service calls
    /// this periodically and at shutdown; transitions are journaled at once).
    public func journalChanges() {
        guard let journal else { return }
        let changed: [RuleSeries] = state.withLock { state in
            var changed: [RuleSeries] = []
            for index in state.tables.indices {
                for position in state.tables[index].series.indices where state.tables[index].series[position].dirty {
                    state.tables[index].series[position].dirty = false
                    changed.append(state.tables[index].series[position])
                }
            }
            return changed
        }
        journal.append(contentsOf: changed.map(StateChange.ruleSeriesUpserted))
    }

    /// Puts back series loaded from a state store, after the alert store was
    /// restored. Each series' firing state is reconciled with the store (the
    /// store's alerts are the truth); a firing rule alert without a series
    /// gets one, so it still resolves when its condition stops holding.
    /// Series of rules no longer configured are dropped from the store.
    public func restore(_ persisted: [RuleSeries], at now: Date) {
        let time = Self.milliseconds(now)
        let byName = Dictionary(rules.indices.map { (rules[$0].name, $0) }, uniquingKeysWith: { first, _ in first })
        state.withLock { state in
            for var series in persisted {
                guard let index = byName[series.rule], series.group.count == rules[index].groupBy.count else {
                    journal?.append(.ruleSeriesRemoved(key: series.key))
                    continue
                }
                let rule = rules[index]
                series.adopt(rule)
                series.fingerprint = makeEvent(index, group: series.group, series: nil, status: .firing).fingerprint
                series.alertFiring = store.alert(series.fingerprint)?.isFiring ?? false
                insert(series, index, &state)
            }
            // Only the firing alerts a rule names are copied out (none without rules).
            guard !byName.isEmpty else { return }
            for alert in store.activeAlerts(where: { $0.labels["alertname"].map { byName[$0] != nil } ?? false }) {
                guard let name = alert.labels["alertname"], let index = byName[name] else { continue }
                let rule = rules[index]
                let group = rule.groupBy.map { alert.labels[$0] ?? "" }
                guard let position = locate(index, { name in group[rule.groupBy.firstIndex(of: name)!] }, &state, at: time) else { continue }
                guard state.tables[index].series[position].fingerprint == alert.fingerprint else { continue }
                if !state.tables[index].series[position].alertFiring {
                    state.tables[index].series[position].alertFiring = true
                    state.tables[index].series[position].conditionFiring = true
                }
            }
        }
    }

    /// How many series each rule keeps (for metrics).
    public func seriesCounts() -> [String: Int] {
        let counts = state.withLock { state in state.tables.map(\.series.count) }
        return Dictionary(zip(rules.map(\.name), counts), uniquingKeysWith: +)
    }

    /// The subject patterns whose samples the rules read: what the service
    /// subscribes to for samples (event_count rules read the event subscriptions).
    public var sampleSubjects: [String] {
        var seen = Set<String>()
        return sampleRules.flatMap { rules[$0].subjects.map(\.description) }.filter { seen.insert($0).inserted }
    }

    /// Every series, for tests and the API.
    public func series() -> [RuleSeries] {
        state.withLock { state in state.tables.flatMap(\.series) }.sorted { $0.key < $1.key }
    }

    // MARK: Internals

    private static func rules(for subject: String, from candidates: [Int], _ rules: [EventRule], _ cache: inout [String: [Int]]) -> [Int] {
        if let cached = cache[subject] { return cached }
        let matching = candidates.filter { index in rules[index].subjects.contains { $0.matches(subject) } }
        // Subjects with wildcards in them can be many: bound the cache.
        if cache.count >= 4096 { cache.removeAll(keepingCapacity: true) }
        cache[subject] = matching
        return matching
    }

    /// The position of the series with these group values in its rule's
    /// table, created if new; nil when the rule has reached its series limit.
    private func locate(_ index: Int, _ value: (String) -> String, _ state: inout State, at time: Int64) -> Int? {
        let rule = compiled[index].rule
        if rule.groupBy.isEmpty, !state.tables[index].series.isEmpty { return 0 }
        var slot = Self.hash(rule.groupBy.lazy.map(value))
        while let position = state.tables[index].positions[slot] {
            if state.tables[index].series[position].group.elementsEqual(rule.groupBy.lazy.map(value)) { return position }
            slot &+= 0x9E37_79B9_7F4A_7C15
        }
        guard state.tables[index].series.count < maxSeriesPerRule else {
            seriesRefused.add(1, ordering: .relaxed)
            return nil
        }
        let group = rule.groupBy.map(value)
        let fingerprint = makeEvent(index, group: group, series: nil, status: .firing).fingerprint
        return state.tables[index].insert(RuleSeries(rule: rule, group: group, fingerprint: fingerprint, at: time), slot: slot)
    }

    private func insert(_ series: RuleSeries, _ index: Int, _ state: inout State) {
        var slot = Self.hash(series.group.lazy)
        while let position = state.tables[index].positions[slot], state.tables[index].series[position].group != series.group {
            slot &+= 0x9E37_79B9_7F4A_7C15
        }
        if let position = state.tables[index].positions[slot] {
            state.tables[index].series[position] = series
            state.tables[index].series[position].slot = slot
        } else {
            _ = state.tables[index].insert(series, slot: slot)
        }
    }

    /// FNV-1a 64 over the values, each followed by 0xff (not valid UTF-8, so no value can fake a boundary).
    private static func hash<S: Sequence<String>>(_ values: S) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for value in values {
            for byte in value.utf8 {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01b3
            }
            hash ^= 0xff
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }

    /// Carries a series' decision to the alert store.
    private func act(_ decision: RuleSeries.Decision, _ index: Int, _ position: Int, _ state: inout State,
                     at now: Date, into transitions: inout [AlertTransition]) {
        let series = state.tables[index].series[position]
        switch decision {
        case .none:
            return
        case .update:
            if store.refresh(series.fingerprint, currentValue: series.observed, iteration: series.lastIteration, at: now) { return }
            // The store no longer holds it (resolved by an operator's timeout, or never admitted): raise it again.
            fallthrough
        case .fire:
            let transition = store.apply(makeEvent(index, group: series.group, series: series, status: .firing), receivedAt: now)
            switch transition {
            case .fired, .refusedAtCapacity: transitions.append(transition)
            default: break
            }
        case .resolve:
            let transition = store.apply(makeEvent(index, group: series.group, series: series, status: .resolved), receivedAt: now)
            if case .resolved = transition { transitions.append(transition) }
        }
        state.tables[index].series[position].dirty = false
        journal?.append(.ruleSeriesUpserted(state.tables[index].series[position]))
    }

    /// The alert event a series raises or resolves: labels from the rule and
    /// the group, annotations filled with the current value and threshold.
    private func makeEvent(_ index: Int, group: [String], series: RuleSeries?, status: EventStatus) -> AlertEvent {
        let rule = compiled[index].rule
        var labels = rule.labels
        var source = ""
        var subject = ""
        for (name, value) in zip(rule.groupBy, group) {
            switch name {
            case "source": source = value
            case "subject": subject = value
            default: if !value.isEmpty { labels[name] = value }
            }
        }
        var event = AlertEvent(alertType: rule.name, severity: rule.severity, status: status, source: source,
                               labels: labels, subject: subject)
        guard let series else { return event }
        event.currentValue = series.observed
        event.thresholdValue = rule.thresholdValue
        event.iteration = series.lastIteration
        let alertLabels = event.alertLabels.dictionary
        var annotations = rule.annotations.mapValues { RuleAnnotations.expand($0, rule: rule, series: series, labels: alertLabels) }
        if annotations["summary"] == nil {
            annotations["summary"] = rule.name + ": " + RuleFormat.number(series.observed) + " (" + compiled[index].description + ")"
        }
        annotations["rule_kind"] = rule.kind.name
        if series.flapping, let policy = rule.flapping {
            annotations["flapping"] = "true"
            annotations["flapping_note"] = "changed state more than \(policy.maxChanges) times within \(PrometheusDuration.format(policy.window)); held firing until it is stable for \(PrometheusDuration.format(policy.window))"
        }
        event.annotations = annotations
        return event
    }

    /// The time a rule's window spans, in milliseconds (0 for sample windows).
    fileprivate static func span(of kind: RuleKind) -> Int64 {
        switch kind {
        case .threshold(_, .duration(let d)?), .aggregate(_, .duration(let d), _, _), .eventCount(_, let d), .unchanged(.duration(let d)):
            d.milliseconds
        default: 0
        }
    }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}

/// A rule and what the evaluator derives from it once.
private final class CompiledRule: Sendable {
    let rule: EventRule
    let isAbsence: Bool
    /// The condition in words, for generated summaries.
    let description: String
    /// A series not seen for this long, and not firing, is forgotten.
    let idleLimit: Int64

    init(_ rule: EventRule) {
        self.rule = rule
        if case .absence = rule.kind { isAbsence = true } else { isAbsence = false }
        description = RuleAnnotations.describe(rule)
        idleLimit = RuleEvaluator.idleTimeout.milliseconds + RuleEvaluator.span(of: rule.kind)
    }
}

/// One rule's series: a flat array (read and updated in place, never
/// copied whole) and a map from the hash of a series' group values to its
/// position. Collisions probe onward; a 64-bit hash makes them rare enough
/// that removal does not repair probe chains (the worst case is a second
/// series for the same group, with the same alert identity).
private struct SeriesTable {
    var positions: [UInt64: Int] = [:]
    var series: ContiguousArray<RuleSeries> = []

    mutating func insert(_ new: RuleSeries, slot: UInt64) -> Int {
        var new = new
        new.slot = slot
        positions[slot] = series.count
        series.append(new)
        return series.count - 1
    }

    /// Swap-removes, keeping `positions` right for the series moved.
    mutating func remove(at position: Int) {
        positions[series[position].slot] = nil
        let last = series.count - 1
        if position != last {
            series.swapAt(position, last)
            positions[series[position].slot] = position
        }
        series.removeLast()
    }
}

/// `{{value}}`, `{{threshold}}`, `{{iteration}}`, `{{rule}}` and
/// `{{labels.NAME}}` in a rule's annotations.
enum RuleAnnotations {
    static func expand(_ text: String, rule: EventRule, series: RuleSeries, labels: [String: String]) -> String {
        // A byte scan (no Foundation search): this runs on every alert transition.
        let bytes = Array(text.utf8)
        let brace = UInt8(ascii: "{"), close = UInt8(ascii: "}")
        guard bytes.count > 3, bytes.contains(brace) else { return text }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count + 16)
        var index = 0
        while index < bytes.count {
            if index + 1 < bytes.count, bytes[index] == brace, bytes[index + 1] == brace,
               let end = (index + 2..<bytes.count - 1).first(where: { bytes[$0] == close && bytes[$0 + 1] == close }) {
                let name = String(Substring(String(decoding: bytes[(index + 2)..<end], as: UTF8.self)).trimmingSpaces())
                if let value = placeholder(name, rule: rule, series: series, labels: labels) {
                    result.append(contentsOf: value.utf8)
                } else {
                    result.append(contentsOf: bytes[index..<(end + 2)])
                }
                index = end + 2
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    private static func placeholder(_ name: String, rule: EventRule, series: RuleSeries, labels: [String: String]) -> String? {
        switch name {
        case "value": return RuleFormat.number(series.observed)
        case "threshold": return RuleFormat.number(rule.thresholdValue)
        case "iteration": return series.lastIteration.map(String.init) ?? ""
        case "rule": return rule.name
        default:
            guard name.hasPrefix("labels.") else { return nil }
            return labels[String(name.dropFirst("labels.".count))] ?? ""
        }
    }

    /// The rule's condition in words: `> 80`, `avg over 10 samples < 20`.
    static func describe(_ rule: EventRule) -> String {
        switch rule.kind {
        case .threshold(let condition, nil): "\(condition)"
        case .threshold(let condition, let holdFor?): "\(condition) for \(holdFor)"
        case .consecutive(let condition, let count): "\(condition) for \(count) consecutive samples"
        case .aggregate(let function, let window, let condition, _): "\(function.rawValue) over \(window) \(condition)"
        case .eventCount(let count, let window): ">= \(count) events within \(PrometheusDuration.format(window))"
        case .absence(let after): "nothing received for \(PrometheusDuration.format(after))"
        case .unchanged(let window): "unchanged for \(window)"
        }
    }
}
