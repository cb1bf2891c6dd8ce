import AlertCore
import AlertIngest
public import Foundation

/// What the fuzz targets (Tests/Fuzz/Targets) run for one input, and what
/// the corpus tests run for every committed seed: decode as the service
/// does, then everything that happens to an accepted event or sample
/// before it leaves the process — validation, fingerprint, the store,
/// RFC 3339 formatting of its times, the JSON encoding of the alert (the
/// KV state and the outbox use it), rule windows.
///
/// Any trap, overflow or memory error in there is a finding; a rejection is
/// a normal outcome.
public enum IngestFuzzing {
    public enum Outcome: Equatable, Sendable {
        /// Decoded and valid; the formatted times of the alert it made (if any).
        case accepted(times: [String])
        /// Refused with this reason (`events_rejected_total{reason}`).
        case rejected(String)
    }

    /// The receive time of every fuzzed event: a fixed instant, so runs repeat.
    public static let receivedAt = Date(timeIntervalSince1970: 1_800_000_000)

    /// `alerting.v1.AlertEvent`, binary form.
    public static func protobufEvent(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        do throws(EventRejection) {
            return try afterDecoding(ProtobufEventDecoder.decode(bytes, subject: "fuzz.protobuf"))
        } catch {
            return .rejected(error.reason.rawValue)
        }
    }

    /// `alerting.v1.AlertEvent`, proto3 JSON form.
    public static func jsonEvent(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        do throws(EventRejection) {
            return try afterDecoding(JSONEventDecoder.decode(bytes, subject: "fuzz.json"))
        } catch {
            return .rejected(error.reason.rawValue)
        }
    }

    /// `alerting.v1.MetricSample`: the same bytes through the binary and the
    /// JSON decoder, then into a threshold, a consecutive and an aggregate rule.
    public static func sample(_ bytes: UnsafeRawBufferPointer) -> [Outcome] {
        var outcomes: [Outcome] = []
        for json in [false, true] {
            do throws(EventRejection) {
                var sample = json ? try JSONSampleDecoder.decode(bytes, subject: "metrics.fuzz")
                    : try ProtobufSampleDecoder.decode(bytes, subject: "metrics.fuzz")
                try sample.validate(EventLimits())
                sample.subject = "metrics.fuzz"
                let store = AlertStore()
                let evaluator = RuleEvaluator(rules: rules, store: store)
                var times: [String] = []
                for step in 0..<3 {
                    for transition in evaluator.observe(sample, at: receivedAt.addingTimeInterval(Double(step))) {
                        if case .fired(let alert) = transition { times += exercise(alert) }
                    }
                }
                outcomes.append(.accepted(times: times))
            } catch {
                outcomes.append(.rejected(error.reason.rawValue))
            }
        }
        return outcomes
    }

    /// `MatcherParser` on arbitrary text, then the matchers against a label set.
    public static func matchers(_ bytes: UnsafeRawBufferPointer) -> Int {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let matchers = try? MatcherParser.parseMatchers(text) else { return -1 }
        let labels = LabelSet(["alertname": "disk_full", "victim": String(repeating: "a", count: 64), "severity": "critical"])
        return matchers.filter { $0.matches(labels) }.count
    }

    static let rules: [EventRule] = [
        EventRule(name: "fuzz_threshold", kind: .threshold(Condition(.greater, 80), holdFor: nil), subjects: [SubjectPattern("metrics.>")]),
        EventRule(name: "fuzz_consecutive", kind: .consecutive(Condition(.less, 0.1), samples: 2), subjects: [SubjectPattern("metrics.>")]),
        EventRule(name: "fuzz_aggregate", kind: .aggregate(.avg, window: .samples(3), Condition(.greater, 1), minSamples: 1),
                  subjects: [SubjectPattern("metrics.>")]),
    ]

    /// The steps of `EventIngestor` after decoding: validate, sanitize against the receive time, apply.
    static func afterDecoding(_ decoded: AlertEvent) throws(EventRejection) -> Outcome {
        var event = decoded
        try event.validate(EventLimits())
        _ = event.sanitize(receivedAt: receivedAt, limits: EventLimits())
        _ = event.fingerprint
        let store = AlertStore()
        var times: [String] = []
        if case .fired(let alert) = store.apply(event, receivedAt: receivedAt) {
            times += exercise(alert)
            var resolved = event
            resolved.status = .resolved
            if case .resolved(let gone) = store.apply(resolved, receivedAt: receivedAt.addingTimeInterval(1)) { times += exercise(gone) }
        }
        return .accepted(times: times)
    }

    /// What happens to an alert on its way out: its times formatted (logs,
    /// API, Alertmanager and webhook bodies) and its JSON form (KV, outbox)
    /// written and read back.
    static func exercise(_ alert: Alert) -> [String] {
        var times = [alert.startsAt.rfc3339Milliseconds, alert.lastSeen.rfc3339Milliseconds]
        if let endsAt = alert.endsAt { times.append(endsAt.rfc3339Milliseconds) }
        if let data = try? JSONEncoder().encode(alert) {
            _ = try? JSONDecoder().decode(Alert.self, from: data)
        }
        return times
    }
}
