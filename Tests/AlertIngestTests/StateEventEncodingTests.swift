import AlertIngest
import Foundation
import Testing

@Suite("State-change events: protobuf and JSON encodings")
struct StateEventEncodingTests {
    let silenced = AlertStateEvent(change: .silenced, fingerprint: "0123456789abcdef", labels: ["alertname": "disk_full", "source": "node-1"],
                                   startsAtUnixMs: 1_700_000_000_123, silencedBy: ["s-1", "s-2"], observedAtUnixMs: 1_700_000_060_000)
    let deadLettered = NotificationStateEvent(outcome: .deadLettered, notificationID: "n-1", receiver: "oncall", integration: "webhook/0",
                                              groupKey: "{}:{alertname=\"disk_full\"}", fingerprints: ["0123456789abcdef", "fedcba9876543210"],
                                              firing: 1, resolved: 1, attempts: 3, reason: "http_4xx", error: "400 Bad Request",
                                              observedAtUnixMs: 1_700_000_070_000)

    @Test("an alert state event survives the protobuf encoding, every field")
    func alertProtobufRoundTrip() {
        #expect(StateEventDecoder.alert(StateEventEncoder.protobuf(silenced)) == silenced)
        var resolved = silenced
        resolved.change = .resolved
        resolved.endsAtUnixMs = 1_700_000_090_000
        resolved.silencedBy = []
        #expect(StateEventDecoder.alert(StateEventEncoder.protobuf(resolved)) == resolved)
    }

    @Test("a notification state event survives the protobuf encoding, every field")
    func notificationProtobufRoundTrip() {
        #expect(StateEventDecoder.notification(StateEventEncoder.protobuf(deadLettered)) == deadLettered)
        let sent = NotificationStateEvent(outcome: .sent, notificationID: "n-2", receiver: "r", integration: "slack/0", groupKey: "",
                                          fingerprints: [], firing: 0, resolved: 0, attempts: 1, observedAtUnixMs: 1)
        #expect(StateEventDecoder.notification(StateEventEncoder.protobuf(sent)) == sent)
    }

    @Test("the JSON form: proto3 names, enums by name, 64-bit integers as strings, empty fields left out")
    func json() throws {
        let alert = try #require(try JSONSerialization.jsonObject(with: Data(StateEventEncoder.json(silenced))) as? [String: Any])
        #expect(alert["change"] as? String == "CHANGE_SILENCED")
        #expect(alert["fingerprint"] as? String == "0123456789abcdef")
        #expect(alert["startsAtUnixMs"] as? String == "1700000000123")
        #expect(alert["endsAtUnixMs"] == nil)
        #expect(alert["silencedBy"] as? [String] == ["s-1", "s-2"])
        #expect(alert["labels"] as? [String: String] == ["alertname": "disk_full", "source": "node-1"])
        let notification = try #require(try JSONSerialization.jsonObject(with: Data(StateEventEncoder.json(deadLettered))) as? [String: Any])
        #expect(notification["outcome"] as? String == "OUTCOME_DEAD_LETTERED")
        #expect(notification["notificationId"] as? String == "n-1")
        #expect(notification["attempts"] as? Int == 3)
        #expect(notification["reason"] as? String == "http_4xx")
        #expect(notification["observedAtUnixMs"] as? String == "1700000070000")
    }

    @Test("bytes that are not a state event decode to nil")
    func garbage() {
        #expect(StateEventDecoder.alert([0xFF, 0xFF, 0xFF]) == nil)
        #expect(StateEventDecoder.notification([0x0A, 0x50]) == nil)
    }
}
