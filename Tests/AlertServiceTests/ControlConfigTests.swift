@testable import AlertService
import Testing

@Suite("Configuration: nats.control")
struct ControlConfigTests {
    @Test("on by default under nats_alerter with protobuf events; each key is read")
    func defaultsAndKeys() throws {
        let defaults = try ConfigLoader.parse(yaml: "nats: {subjects: [system.>]}").nats.control
        #expect(defaults == AlerterConfig.ControlSection())
        #expect(defaults.enabled && defaults.prefix == "nats_alerter" && defaults.eventFormat == .protobuf && !defaults.silenceWrites)
        let set = try ConfigLoader.parse(yaml: "nats: {subjects: [system.>], control: {enabled: false, prefix: ops.alerter, event_format: json, silence_writes: true}}").nats.control
        #expect(!set.enabled && set.prefix == "ops.alerter" && set.eventFormat == .json && set.silenceWrites)
    }

    @Test("refused: a prefix with wildcards, an unknown event format, a prefix whose events nats.subjects would read back")
    func refused() {
        #expect(issues("nats: {subjects: [a], control: {prefix: \"ops.*\"}}").contains { $0.hasPrefix("nats.control.prefix") })
        #expect(issues("nats: {subjects: [a], control: {event_format: xml}}").contains { $0.contains("unknown event format \"xml\"") })
        #expect(issues("nats: {subjects: [\">\"]}").contains { $0.hasPrefix("nats.control.prefix") && $0.contains("captured by nats.subjects") })
        // Off, the prefix captures nothing.
        #expect(issues("nats: {subjects: [\">\"], control: {enabled: false}}").isEmpty)
    }
}
