@testable import AlertService
import AlertCore
import Foundation
import Logging
import Testing

@Suite("Log line formatting")
struct LogFormattingTests {
    @Test("metadata values are written as JSON, numbers as numbers, strings escaped")
    func jsonValues() throws {
        var line = "{"
        JSONText.appendString("k", to: &line)
        line += ":"
        JSONText.append(.dictionary([
            "text": .string("a \"quoted\"\nline\u{1}"),
            "int": .stringConvertible(42),
            "double": .stringConvertible(1.5),
            "list": .array([.string("x"), .stringConvertible(true)]),
        ]), to: &line)
        line += "}"
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let inner = try #require(parsed["k"] as? [String: Any])
        #expect(inner["text"] as? String == "a \"quoted\"\nline\u{1}")
        #expect(inner["int"] as? Int == 42)
        #expect(inner["double"] as? Double == 1.5)
        #expect((inner["list"] as? [Any])?.count == 2)
    }

    @Test("an alert line carries labels, annotations and values as structured fields")
    func alertMetadata() {
        let event = AlertEvent(alertType: "high_memory", severity: .warning, source: "node-1", summary: "memory 91%",
                               currentValue: 91, thresholdValue: 80, iteration: 7, generatorURL: "http://g", subject: "system.error.critical")
        let alert = Alert(event: event, fingerprint: event.fingerprint, receivedAt: Date(timeIntervalSince1970: 1_800_000_000))
        let metadata = AlertOutput(logger: Logger(label: "t")).metadata(for: alert, event: "alert_firing")
        #expect(metadata["fingerprint"] == .string(event.fingerprint.description))
        #expect(metadata["labels"] == .dictionary(["alertname": "high_memory", "severity": "warning", "source": "node-1", "subject": "system.error.critical"]))
        #expect(metadata["annotations"] == .dictionary(["summary": "memory 91%"]))
        #expect(metadata["starts_at"] == .string("2027-01-15T08:00:00.000Z"))
        #expect(metadata["current_value"]?.description == "91.0")
        #expect(metadata["generator_url"] == .string("http://g"))
    }
}
