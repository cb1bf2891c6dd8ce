import AlertCore
@testable import AlertIngest
import Testing

func decodeJSON(_ text: String, subject: String = "system.error.critical") throws(EventRejection) -> AlertEvent {
    let bytes = Array(text.utf8)
    let result = bytes.withUnsafeBytes { buffer in
        Result { () throws(EventRejection) in try JSONEventDecoder.decode(buffer, subject: subject) }
    }
    return try result.get()
}

@Suite("JSON decoding (proto3 JSON mapping)")
struct JSONDecodingTests {
    @Test("every field in lowerCamelCase")
    func everyField() throws {
        let event = try decodeJSON("""
            {"alertType":"process_crash","severity":"SEVERITY_CRITICAL","status":"STATUS_RESOLVED","source":"w-7",
             "summary":"S","description":"D","labels":{"cluster":"a"},"annotations":{"runbook":"R"},
             "occurredAtUnixMs":"1800000000123","currentValue":91.5,"thresholdValue":"80","iteration":"12",
             "dedupKey":"k","eventId":"e-1","generatorUrl":"http://g"}
            """, subject: "simulation_worker.process_crash")
        #expect(event == AlertEvent(
            alertType: "process_crash", severity: .critical, status: .resolved, source: "w-7", summary: "S",
            description: "D", labels: ["cluster": "a"], annotations: ["runbook": "R"], occurredAtUnixMs: 1_800_000_000_123,
            currentValue: 91.5, thresholdValue: 80, iteration: 12, dedupKey: "k", eventID: "e-1",
            generatorURL: "http://g", subject: "simulation_worker.process_crash"
        ))
    }

    @Test("snake_case names, enum numbers, numbers for int64, null for defaults")
    func alternativeForms() throws {
        let event = try decodeJSON("""
            {"alert_type":"x","severity":2,"status":0,"occurred_at_unix_ms":1800000000123,"current_value":"NaN",
             "iteration":7,"dedup_key":"k","event_id":"e","generator_url":"u","summary":null}
            """)
        #expect(event.alertType == "x")
        #expect(event.severity == .warning)
        #expect(event.status == .firing)
        #expect(event.occurredAtUnixMs == 1_800_000_000_123)
        #expect(event.currentValue?.isNaN == true)
        #expect(event.iteration == 7)
        #expect(event.dedupKey == "k" && event.eventID == "e" && event.generatorURL == "u")
        #expect(event.summary == "")
    }

    @Test("short enum names are accepted for convenience")
    func shortEnums() throws {
        let event = try decodeJSON(#"{"severity":"critical","status":"resolved"}"#)
        #expect(event.severity == .critical && event.status == .resolved)
    }

    @Test("unknown fields are ignored, as in the binary form")
    func unknownFields() throws {
        #expect(try decodeJSON(#"{"alertType":"x","futureField":{"a":1}}"#).alertType == "x")
    }

    @Test("bad JSON is refused with the reason named", arguments: [
        ("{not json", RejectReason.invalidJSON),
        ("[1,2]", .invalidJSON),
        (#"{"alertType":5}"#, .invalidJSON),
        (#"{"labels":{"a":1}}"#, .invalidJSON),
        (#"{"labels":["a"]}"#, .invalidJSON),
        (#"{"iteration":1.5}"#, .invalidJSON),
        (#"{"iteration":"12x"}"#, .invalidJSON),
        (#"{"currentValue":true}"#, .invalidJSON),
        (#"{"severity":"SEVERITY_APOCALYPTIC"}"#, .unknownEnumValue),
        (#"{"severity":99}"#, .unknownEnumValue),
        (#"{"status":"maybe"}"#, .unknownEnumValue),
        ("", .emptyPayload),
    ])
    func refuses(text: String, reason: RejectReason) {
        #expect(rejection { () throws(EventRejection) in try decodeJSON(text) }?.reason == reason)
    }

    @Test("our JSON encoder round-trips every field")
    func encoderRoundTrip() throws {
        let original = AlertEvent(
            alertType: "t", severity: .info, status: .resolved, source: "s", summary: "S", description: "D",
            labels: ["a": "1"], annotations: ["b": "2"], occurredAtUnixMs: 42, currentValue: -1.25,
            thresholdValue: .infinity, iteration: 9_007_199_254_740_993, dedupKey: "k", eventID: "e",
            generatorURL: "u", subject: "system.error.critical"
        )
        let text = String(decoding: JSONEventEncoder.encode(original), as: UTF8.self)
        #expect(try decodeJSON(text) == original)
    }

    @Test("deep nesting is refused before decoding, with the depth; brackets inside strings do not count")
    func deepNesting() throws {
        let deep = "{\"alertType\":\"deep\",\"labels\":" + String(repeating: "{\"a\":", count: 1000) + "1" + String(repeating: "}", count: 1000) + "}"
        #expect {
            try decodeJSON(deep)
        } throws: { error in
            let rejection = error as! EventRejection
            return rejection.reason == .invalidJSON && rejection.detail.contains("nested deeper than 16 levels")
        }
        #expect(throws: EventRejection.self) { try decodeJSON(String(repeating: "[", count: 100_000)) }
        let braces = try decodeJSON(#"{"alertType":"x","summary":"[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{\"","labels":{"a":"b"}}"#)
        #expect(braces.summary.hasPrefix("[[[[") && braces.labels == ["a": "b"])
    }
}
