import AlertCore
import Foundation
import Testing

@Suite("Event labels, identity and validation")
struct AlertEventTests {
    @Test("labels are alertname, severity, source, subject plus the event's own")
    func derivedLabels() {
        let event = AlertEvent(alertType: "process_crash", severity: .critical, source: "worker-7",
                               labels: ["cluster": "a"], subject: "simulation_worker.process_crash")
        #expect(event.alertLabels == LabelSet([
            "alertname": "process_crash", "severity": "critical", "source": "worker-7",
            "subject": "simulation_worker.process_crash", "cluster": "a",
        ]))
    }

    @Test("alertname falls back to the subject; unspecified severity and empty source set no label")
    func fallbacks() {
        let event = AlertEvent(subject: "system.error.critical")
        #expect(event.alertLabels == LabelSet(["alertname": "system.error.critical", "subject": "system.error.critical"]))
    }

    @Test("event fields win over same-named labels; labels fill fields left empty")
    func precedence() {
        let event = AlertEvent(alertType: "a", labels: ["alertname": "b", "source": "from-label"], subject: "s")
        #expect(event.alertLabels["alertname"] == "a")
        #expect(event.alertLabels["source"] == "from-label")
    }

    @Test("summary and description become annotations")
    func annotations() {
        let event = AlertEvent(summary: "S", description: "D", annotations: ["runbook": "R", "summary": "old"])
        #expect(event.alertAnnotations == ["summary": "S", "description": "D", "runbook": "R"])
    }

    @Test("dedup_key replaces the label set as identity")
    func dedupKey() {
        let a = AlertEvent(alertType: "x", labels: ["n": "1"], dedupKey: "k", subject: "s")
        let b = AlertEvent(alertType: "y", labels: ["n": "2"], dedupKey: "k", subject: "t")
        let c = AlertEvent(alertType: "x", labels: ["n": "1"], subject: "s")
        #expect(a.fingerprint == b.fingerprint)
        #expect(a.fingerprint != c.fingerprint)
        #expect(c.fingerprint == c.alertLabels.fingerprint)
    }

    @Test("occurred_at 0 means the time received")
    func occurredAt() {
        let received = Date(timeIntervalSince1970: 1000)
        #expect(AlertEvent().occurredAt(receivedAt: received) == received)
        #expect(AlertEvent(occurredAtUnixMs: 1_500).occurredAt(receivedAt: received) == Date(timeIntervalSince1970: 1.5))
    }

    static let limits = EventLimits(maxPayloadBytes: 1000, maxLabels: 3, maxLabelNameBytes: 10, maxLabelValueBytes: 20,
                                    maxAnnotations: 2, maxAnnotationValueBytes: 30)

    @Test("each limit and label rule rejects with its own reason", arguments: [
        (AlertEvent(labels: ["a": "1", "b": "2", "c": "3", "d": "4"]), RejectReason.tooManyLabels),
        (AlertEvent(labels: ["abcdefghijk": "1"]), .labelTooLong),
        (AlertEvent(labels: ["a": String(repeating: "v", count: 21)]), .labelTooLong),
        (AlertEvent(labels: ["1abc": "1"]), .invalidLabelName),
        (AlertEvent(labels: ["a-b": "1"]), .invalidLabelName),
        (AlertEvent(labels: ["__name": "1"]), .invalidLabelName),
        (AlertEvent(labels: ["": "1"]), .invalidLabelName),
        (AlertEvent(annotations: ["a": "1", "b": "2", "c": "3"]), .tooManyAnnotations),
        (AlertEvent(annotations: ["a": String(repeating: "v", count: 31)]), .annotationTooLong),
        (AlertEvent(summary: String(repeating: "v", count: 31)), .annotationTooLong),
        (AlertEvent(alertType: String(repeating: "v", count: 21)), .fieldTooLong),
        (AlertEvent(eventID: String(repeating: "v", count: 31)), .fieldTooLong),
    ])
    func rejects(event: AlertEvent, reason: RejectReason) {
        #expect(throws: EventRejection.self) { try event.validate(Self.limits) }
        do {
            try event.validate(Self.limits)
        } catch {
            #expect(error.reason == reason)
            #expect(!error.detail.isEmpty)
        }
    }

    @Test("an event within every limit passes")
    func accepts() throws {
        let event = AlertEvent(alertType: "t", labels: ["a": "1", "b_2": "2", "_c": "3"], annotations: ["x": "y"])
        try event.validate(Self.limits)
    }

    @Test("a hostile label name is cut and escaped in the error")
    func hostileNameInError() {
        let name = "bad\nname" + String(repeating: "x", count: 200)
        do {
            try AlertEvent(labels: [name: "v"]).validate(EventLimits(maxLabelNameBytes: 1000))
            Issue.record("expected a rejection")
        } catch {
            #expect(error.reason == .invalidLabelName)
            #expect(!error.detail.contains("\n"))
            #expect(error.detail.utf8.count < 200)
        }
    }
}

@Suite("Prometheus durations")
struct PrometheusDurationTests {
    @Test("parses Prometheus' notation", arguments: [
        ("0s", Duration.zero), ("0", .zero), ("250ms", .milliseconds(250)), ("30s", .seconds(30)),
        ("5m", .seconds(300)), ("1h30m", .seconds(5400)), ("1d", .seconds(86400)), ("1w", .seconds(604_800)),
        ("1y", .seconds(31_536_000)), ("1m30s500ms", .milliseconds(90_500)),
    ])
    func parses(text: String, expected: Duration) {
        #expect(PrometheusDuration.parse(text) == expected)
    }

    @Test("refuses what is not a duration", arguments: ["", "5", "m", "5x", "1m1h", "1.5h", "-5m", "5 m", "1s1s"])
    func refuses(text: String) {
        #expect(PrometheusDuration.parse(text) == nil)
    }

    @Test("formats as Prometheus does")
    func formats() {
        #expect(PrometheusDuration.format(.seconds(5400)) == "1h30m")
        #expect(PrometheusDuration.format(.zero) == "0s")
        #expect(PrometheusDuration.format(.milliseconds(1500)) == "1s500ms")
    }

    @Test("sanitize: times before 1970 or past the skew become the receive time; NaN and infinite values become absent")
    func sanitize() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let limits = EventLimits(maxClockSkew: .seconds(300))
        func adjusted(_ event: AlertEvent) -> (AlertEvent, EventAdjustments) {
            var copy = event
            let result = copy.sanitize(receivedAt: now, limits: limits)
            return (copy, result)
        }
        for bad: Int64 in [.max, -.max, .min, -1, 95_617_584_000_000, 1_800_000_000_000 + 300_001] {
            let (event, result) = adjusted(AlertEvent(alertType: "x", occurredAtUnixMs: bad))
            #expect(result == .occurredAt && event.occurredAtUnixMs == 0, "\(bad)")
            #expect(event.occurredAt(receivedAt: now) == now)
        }
        for good: Int64 in [0, 1, 1_800_000_000_000 - 86_400_000, 1_800_000_000_000 + 300_000] {
            let (event, result) = adjusted(AlertEvent(alertType: "x", occurredAtUnixMs: good))
            #expect(result.isEmpty && event.occurredAtUnixMs == good, "\(good)")
        }
        let (values, result) = adjusted(AlertEvent(alertType: "x", currentValue: .nan, thresholdValue: -.infinity))
        #expect(result == [.currentValue, .thresholdValue])
        #expect(values.currentValue == nil && values.thresholdValue == nil)
        let (finite, none) = adjusted(AlertEvent(alertType: "x", currentValue: 1e308, thresholdValue: -1e308))
        #expect(none.isEmpty && finite.currentValue == 1e308)
    }
}
