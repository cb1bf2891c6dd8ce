import AlertCore
import AlertTestSupport
@testable import AlertIngest
import Foundation
import Testing

func decodeProtobuf(_ bytes: [UInt8], subject: String = "system.error.critical") throws(EventRejection) -> AlertEvent {
    let result = bytes.withUnsafeBytes { buffer in
        Result { () throws(EventRejection) in try ProtobufEventDecoder.decode(buffer, subject: subject) }
    }
    return try result.get()
}

func rejection(_ body: () throws(EventRejection) -> AlertEvent) -> EventRejection? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

@Suite("Protobuf decoding (protobuf-c)")
struct ProtobufDecodingTests {
    static let everyField = """
        alert_type: "diverged_irrecoverably"
        severity: SEVERITY_ERROR
        status: STATUS_RESOLVED
        source: "trainer-3"
        summary: "PPO run 42 diverged"
        description: "loss is NaN since iteration 1200"
        labels { key: "run" value: "ppo-42" }
        labels { key: "zone" value: "é✓" }
        annotations { key: "runbook" value: "https://runbooks/drl" }
        occurred_at_unix_ms: 1800000000123
        current_value: 1e300
        threshold_value: -0.5
        iteration: 1200
        dedup_key: "run-42"
        event_id: "0b9a4c1e-8a7e-4c55-9f0b-5a3a0f3c2d11"
        generator_url: "https://grafana/d/drl"
        """

    @Test("every field of an event encoded by protoc arrives intact")
    func everyFieldFromProtoc() throws {
        let event = try decodeProtobuf(try protocEncode(Self.everyField), subject: "drl_training.diverged_irrecoverably")
        #expect(event == AlertEvent(
            alertType: "diverged_irrecoverably", severity: .error, status: .resolved, source: "trainer-3",
            summary: "PPO run 42 diverged", description: "loss is NaN since iteration 1200",
            labels: ["run": "ppo-42", "zone": "é✓"], annotations: ["runbook": "https://runbooks/drl"],
            occurredAtUnixMs: 1_800_000_000_123, currentValue: 1e300, thresholdValue: -0.5, iteration: 1200,
            dedupKey: "run-42", eventID: "0b9a4c1e-8a7e-4c55-9f0b-5a3a0f3c2d11", generatorURL: "https://grafana/d/drl",
            subject: "drl_training.diverged_irrecoverably"
        ))
    }

    @Test("optional scalars keep their presence: zero is not absent")
    func presence() throws {
        let zeros = try decodeProtobuf(try protocEncode("alert_type: \"x\"\ncurrent_value: 0\nthreshold_value: 0\niteration: 0"))
        #expect(zeros.currentValue == 0)
        #expect(zeros.thresholdValue == 0)
        #expect(zeros.iteration == 0)
        let absent = try decodeProtobuf(try protocEncode("alert_type: \"x\""))
        #expect(absent.currentValue == nil)
        #expect(absent.thresholdValue == nil)
        #expect(absent.iteration == nil)
    }

    @Test("our encoder and protoc's agree on the bytes' meaning")
    func encoderRoundTrip() throws {
        let fromProtoc = try decodeProtobuf(try protocEncode(Self.everyField))
        let reencoded = try decodeProtobuf(ProtobufEventEncoder.encode(fromProtoc))
        #expect(reencoded == fromProtoc)
    }

    @Test("unknown fields from a newer publisher are ignored")
    func unknownField() throws {
        // field 99, varint 1, then alert_type "x"
        let bytes: [UInt8] = [0x98, 0x06, 0x01, 0x0a, 0x01, 0x78]
        #expect(try decodeProtobuf(bytes).alertType == "x")
    }

    @Test("a truncated message is invalid protobuf")
    func truncated() throws {
        let bytes = try protocEncode(Self.everyField)
        for cut in [1, 5, bytes.count / 2, bytes.count - 1] {
            #expect(rejection { () throws(EventRejection) in try decodeProtobuf(Array(bytes.prefix(cut))) }?.reason == .invalidProtobuf)
        }
    }

    @Test("a wrong wire type is invalid protobuf")
    func wrongWireType() {
        // field 1 (string) sent as a varint
        #expect(rejection { () throws(EventRejection) in try decodeProtobuf([0x08, 0x01]) }?.reason == .invalidProtobuf)
    }

    @Test("an unknown enum value is refused, naming the field")
    func unknownEnum() {
        let severity = rejection { () throws(EventRejection) in try decodeProtobuf([0x10, 0x63]) }
        #expect(severity?.reason == .unknownEnumValue)
        #expect(severity?.detail.contains("severity 99") == true)
        let status = rejection { () throws(EventRejection) in try decodeProtobuf([0x18, 0x07]) }
        #expect(status?.reason == .unknownEnumValue)
        #expect(status?.detail.contains("status") == true)
    }

    @Test("invalid UTF-8 in a label is refused")
    func invalidUTF8() {
        // labels entry { key: "a", value: 0xff 0xfe }
        let bytes: [UInt8] = [0x3a, 0x07, 0x0a, 0x01, 0x61, 0x12, 0x02, 0xff, 0xfe]
        let error = rejection { () throws(EventRejection) in try decodeProtobuf(bytes) }
        // protobuf-c 1.4 does not check UTF-8 itself; the decoder does.
        #expect(error?.reason == .invalidUTF8)
        #expect(error?.detail.contains("label \"a\"") == true)
    }

    @Test("an empty payload is refused")
    func empty() {
        #expect(rejection { () throws(EventRejection) in try decodeProtobuf([]) }?.reason == .emptyPayload)
    }
}
