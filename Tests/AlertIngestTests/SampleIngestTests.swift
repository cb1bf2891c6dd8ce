import AlertCore
import AlertTestSupport
@testable import AlertIngest
import Foundation
import Logging
import Synchronization
import Testing

func decodeSample(_ bytes: [UInt8], json: Bool = false, subject: String = "metrics.test") throws(EventRejection) -> MetricSample {
    let result = bytes.withUnsafeBytes { buffer in
        Result { () throws(EventRejection) in
            json ? try JSONSampleDecoder.decode(buffer, subject: subject) : try ProtobufSampleDecoder.decode(buffer, subject: subject)
        }
    }
    return try result.get()
}

final class FixedClock: WallClock {
    let time = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    func now() -> Date { time.withLock { $0 } }
    func advance(_ seconds: Double) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

@Suite("Metric samples: decoding and ingest")
struct SampleIngestTests {
    @Test("a MetricSample encoded by Debian's protoc decodes field by field, iteration presence included")
    func protobuf() throws {
        let bytes = try protocEncode("""
            name: "population_diversity"
            value: 0.07
            labels { key: "run" value: "ppo-42" }
            iteration: 0
            occurred_at_unix_ms: 1800000000123
            source: "evolution-monitor"
            """, message: "alerting.v1.MetricSample")
        let sample = try decodeSample(bytes, subject: "metrics.population.diversity")
        #expect(sample == MetricSample(name: "population_diversity", value: 0.07, labels: ["run": "ppo-42"], iteration: 0,
                                       occurredAtUnixMs: 1_800_000_000_123, source: "evolution-monitor", subject: "metrics.population.diversity"))
        let withoutIteration = try decodeSample(try protocEncode("value: 85", message: "alerting.v1.MetricSample"))
        #expect(withoutIteration.iteration == nil && withoutIteration.value == 85)
        // Our encoder agrees with protoc.
        #expect(try decodeSample(ProtobufSampleEncoder.encode(sample), subject: sample.subject) == sample)
    }

    @Test("the JSON form: camelCase or snake_case names, 64-bit integers as strings")
    func json() throws {
        let sample = try decodeSample(Array(#"{"name":"cpu","value":91.5,"labels":{"host":"a"},"iteration":"7","occurred_at_unix_ms":5,"source":"m"}"#.utf8), json: true)
        #expect(sample == MetricSample(name: "cpu", value: 91.5, labels: ["host": "a"], iteration: 7, occurredAtUnixMs: 5, source: "m", subject: "metrics.test"))
        #expect(throws: EventRejection.self) { try decodeSample(Array(#"{"value":"high"}"#.utf8), json: true) }
    }

    @Test("bad samples are rejected with a reason, counted as bad events are, and change nothing")
    func rejections() throws {
        let store = AlertStore()
        let rules = RuleEvaluator(rules: [EventRule(name: "high", kind: .threshold(Condition(.greater, 1), holdFor: nil),
                                                    subjects: [SubjectPattern("metrics.>")])], store: store)
        let counters = IngestCounters()
        let ingestor = SampleIngestor(rules: rules, transitions: AlertTransitionBuffer(), counters: counters,
                                      limits: EventLimits(maxPayloadBytes: 200, maxLabels: 2), clock: FixedClock(), logger: Logger(label: "test"))
        func send(_ bytes: [UInt8], json: Bool = false) {
            bytes.withUnsafeBytes { ingestor.process(subject: "metrics.x", payload: $0, contentType: json ? "application/json" : nil) }
        }
        send([0xff, 0xff, 0xff])
        send([], json: true)
        send(Array(repeating: 0x41, count: 300))
        send(Array(#"{"value":"NaN"}"#.utf8), json: true)
        // An infinity would poison a rule's window (every average over it infinite).
        send(Array(#"{"value":"Infinity"}"#.utf8), json: true)
        send(ProtobufSampleEncoder.encode(MetricSample(value: -.infinity)))
        send(ProtobufSampleEncoder.encode(MetricSample(value: 5, labels: ["bad-name": "x"])))
        send(ProtobufSampleEncoder.encode(MetricSample(value: 5, labels: ["a": "1", "b": "2", "c": "3"])))
        send(Array("not json".utf8), json: true)
        #expect(counters.rejected(.invalidProtobuf) == 1)
        #expect(counters.rejected(.emptyPayload) == 1)
        #expect(counters.rejected(.payloadTooLarge) == 1)
        #expect(counters.rejected(.invalidValue) == 3)
        #expect(counters.rejected(.invalidLabelName) == 1)
        #expect(counters.rejected(.tooManyLabels) == 1)
        #expect(counters.rejected(.invalidJSON) == 1)
        #expect(store.activeCount == 0 && rules.series().isEmpty)
        #expect(counters.decoded.load(ordering: .relaxed) == 0)

        // All defaults encode to an empty payload: a valid sample of value 0.
        #expect(ProtobufSampleEncoder.encode(MetricSample(value: 0)).isEmpty)
        send([])
        #expect(counters.decoded.load(ordering: .relaxed) == 1 && store.activeCount == 0)
        send(ProtobufSampleEncoder.encode(MetricSample(value: 5)))
        #expect(counters.decoded.load(ordering: .relaxed) == 2 && counters.fired.load(ordering: .relaxed) == 1)
        #expect(store.activeAlerts().map { $0.labels["alertname"] } == ["high"])
    }
}
