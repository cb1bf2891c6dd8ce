import AlertTestSupport
import Foundation
import Testing

/// The built binary's `test` subcommand: exit 0 when the scenarios pass, 1
/// with a diff when one fails, 2 with YAML paths for an invalid file.
@Suite("CLI: nats-alerter test")
struct ConfigScenarioCLITests {
    @Test("the shipped scenario files pass (exit 0), --show-sent lists what was sent; a wrong expectation exits 1 with its diff; an invalid file exits 2 with its YAML path")
    func exitStatuses() async throws {
        let directory = try makeTemporaryDirectory("scenario-cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let tests = packageRoot.appendingPathComponent("config/tests")
        let shipped = ["alerter.yaml", "resource-monitoring.yaml"].map { tests.appendingPathComponent($0).path }

        let passing = try await AlerterProcess.run(["test"] + shipped, directory: directory)
        #expect(passing.status == 0, "\(passing.output)")
        #expect(passing.output.contains("\(shipped[0]): 7 scenarios, all passed"), "\(passing.output)")
        #expect(passing.output.contains("  ok    a crashed worker pages on-call at once and once only"), "\(passing.output)")

        let shown = try await AlerterProcess.run(["test", "--show-sent", shipped[0]], directory: directory)
        #expect(shown.status == 0, "\(shown.output)")
        #expect(shown.output.contains("""
                sent:
                  at 0s to oncall (alertmanager/0), group {alertname="process_crash", source="worker-3"}
            """), "\(shown.output)")

        let config = packageRoot.appendingPathComponent("config/alerter.yaml").path
        let wrong = directory.appendingPathComponent("wrong.yaml")
        try """
            config: \(config)
            scenarios:
              - name: resolve expected too early
                events:
                  - {at: 0s, subject: simulation_worker.process_crash, event: {alert_type: process_crash, severity: critical, source: w-1}}
                  - {at: 2m, event: {alert_type: process_crash, severity: critical, source: w-1, status: resolved}}
                expect:
                  - {at: 0s, receiver: oncall, firing: [process_crash]}
                  - {at: 2m, receiver: oncall, resolved: [process_crash]}
            """.write(to: wrong, atomically: true, encoding: .utf8)
        let failing = try await AlerterProcess.run(["test", wrong.path], directory: directory)
        #expect(failing.status == 1, "\(failing.output)")
        #expect(failing.output.contains("\(wrong.path): 1 scenario, 1 failed"), "\(failing.output)")
        #expect(failing.output.contains("scenarios[0].expect[1] (line 9): at 2m to oncall: nothing matching was sent"), "\(failing.output)")
        #expect(failing.output.contains("oncall got notifications at: 0s"), "\(failing.output)")

        let invalid = directory.appendingPathComponent("invalid.yaml")
        try "config: \(config)\nscenarios:\n  - name: x\n    until: forever\n".write(to: invalid, atomically: true, encoding: .utf8)
        let refused = try await AlerterProcess.run(["test", invalid.path], directory: directory)
        #expect(refused.status == 2, "\(refused.output)")
        #expect(refused.output.contains("scenarios[0].until: \"forever\" is not a duration"), "\(refused.output)")
    }
}
