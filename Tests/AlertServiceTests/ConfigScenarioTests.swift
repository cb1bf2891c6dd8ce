import AlertCore
import AlertService
import AlertTestSupport
import Foundation
import Testing

/// `nats-alerter test`: the shipped scenario files pass, a wrong expectation
/// fails with a diff that says what differs and where, an invalid file is
/// refused with YAML paths.
@Suite("Config scenarios (nats-alerter test)")
struct ConfigScenarioTests {
    static let testsDirectory = packageRoot.appendingPathComponent("config/tests")

    static func shippedFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: testsDirectory.path)
            .filter { $0.hasSuffix(".yaml") }.sorted().map { testsDirectory.appendingPathComponent($0).path }
    }

    /// Parses scenario text as if it were a file in config/tests.
    static func scenarioFile(_ yaml: String) throws -> ScenarioFile {
        try ScenarioFileReader.parse(yaml: yaml, file: "wrong.yaml", baseDirectory: testsDirectory.path)
    }

    /// Runs the only scenario of a text in config/tests.
    static func verdict(_ yaml: String) async throws -> ScenarioVerdict {
        try #require(await ScenarioRunner.run(try scenarioFile(yaml)).first)
    }

    @Test("every shipped scenario file in config/tests passes against its config")
    func shippedScenariosPass() async throws {
        let files = try Self.shippedFiles()
        #expect(files.count >= 2)
        let result = await ScenarioRunner.test(paths: files)
        #expect(result.status == 0, "\(result.output)\n\(result.errors)")
        #expect(result.errors.isEmpty)
        for file in files {
            #expect(result.output.contains("\(file): "), "\(file) was not run")
        }
        #expect(!result.output.contains("FAIL"), "\(result.output)")
    }

    @Test("the example to copy in docs/testing-configs.md passes against config/alerter.yaml")
    func documentedExamplePasses() async throws {
        let page = try String(contentsOf: packageRoot.appendingPathComponent("docs/testing-configs.md"), encoding: .utf8)
        let example = try #require(page.components(separatedBy: "```yaml\n").dropFirst().first?.components(separatedBy: "```").first)
        #expect(example.contains("config: alerter.yaml"))
        let file = try ScenarioFileReader.parse(yaml: example, file: "my-alerts.test.yaml",
                                                baseDirectory: packageRoot.appendingPathComponent("config").path)
        let verdicts = await ScenarioRunner.run(file)
        #expect(verdicts.count == 1)
        #expect(verdicts.filter { !$0.passed }.isEmpty, "\(verdicts.map(\.report).joined(separator: "\n"))")
    }

    @Test("a silence at the same time as an event mutes it, wherever the file lists it")
    func silenceFirstAtOneTime() async throws {
        let verdict = try await Self.verdict("""
            config: ../alerter.yaml
            scenarios:
              - name: muted from the start
                events:
                  # The terminal route's group_wait is 0s: the group flushes in the event's own step.
                  - {at: 0s, subject: simulation_worker.process_crash, event: {alert_type: process_crash, severity: critical, source: w-1}}
                silences:
                  - {at: 0s, matchers: ['alertname="process_crash"'], duration: 1h}
                until: 4m
            """)
        #expect(verdict.passed, "\(verdict.report)")
    }

    @Test("a wrong expectation fails: missing and unexpected alerts, with the expectation's YAML path and line")
    func wrongAlertsShowADiff() async throws {
        let verdict = try await Self.verdict("""
            config: ../alerter.yaml
            scenarios:
              - name: crash
                events:
                  - {at: 0s, subject: simulation_worker.process_crash, event: {alert_type: process_crash, severity: critical, source: worker-3}}
                expect:
                  - at: 0s
                    receiver: oncall
                    firing: [{source: worker-4}]
                until: 5m
            """)
        #expect(!verdict.passed)
        #expect(verdict.failures.count == 1)
        let report = verdict.report
        #expect(report.contains("FAIL  crash (scenarios[0], line 3)"), "\(report)")
        #expect(report.contains("scenarios[0].expect[0] (line 7): at 0s to oncall: the notification sent differs"), "\(report)")
        #expect(report.contains("missing firing:    {source=\"worker-4\"}"), "\(report)")
        #expect(report.contains("unexpected firing: {alertname=\"process_crash\", severity=\"critical\", source=\"worker-3\", subject=\"simulation_worker.process_crash\"}"), "\(report)")
        #expect(report.contains("at 0s to oncall (alertmanager/0), group {alertname=\"process_crash\", source=\"worker-3\"}"), "\(report)")
    }

    @Test("with several groups sent at that time, the failure compares with the nearest one")
    func differenceAgainstNearestGroup() async throws {
        let verdict = try await Self.verdict("""
            config: ../alerter.yaml
            scenarios:
              - name: two sources
                events:
                  - {at: 0s, subject: system.error.gpu, event: {alert_type: gpu_ecc_error, severity: error, source: node-1}}
                  - {at: 0s, subject: system.error.gpu, event: {alert_type: gpu_ecc_error, severity: error, source: node-2, labels: {gpu: "3"}}}
                expect:
                  - {at: 10s, receiver: oncall, firing: [{source: node-1}]}
                  - {at: 10s, receiver: oncall, firing: [{source: node-2, gpu: "4"}]}
                until: 1m
            """)
        #expect(verdict.failures.count == 1, "\(verdict.report)")
        let failure = try #require(verdict.failures.first)
        #expect(failure.contains("scenarios[0].expect[1] (line 9): at 10s to oncall: the notification sent differs"), "\(failure)")
        #expect(failure.contains("missing firing:    {gpu=\"4\", source=\"node-2\"}"), "\(failure)")
        #expect(failure.contains("unexpected firing: {alertname=\"gpu_ecc_error\", gpu=\"3\""), "\(failure)")
    }

    @Test("an expectation at the wrong time is missing (with when the receiver did hear), and what was sent is unexpected")
    func wrongTimeIsMissingAndUnexpected() async throws {
        let verdict = try await Self.verdict("""
            config: ../alerter.yaml
            scenarios:
              - name: grouped gpu errors
                events:
                  - {at: 0s, subject: system.error.gpu, event: {alert_type: gpu_ecc_error, severity: error, source: node-1}}
                expect:
                  - {at: 30s, receiver: oncall, firing: [gpu_ecc_error]}
                until: 2m
            """)
        #expect(verdict.failures.count == 2, "\(verdict.report)")
        let report = verdict.report
        #expect(report.contains("scenarios[0].expect[0] (line 7): at 30s to oncall: nothing matching was sent"), "\(report)")
        #expect(report.contains("nothing was sent at 30s"), "\(report)")
        #expect(report.contains("oncall got notifications at: 10s"), "\(report)")
        #expect(report.contains("unexpected notification:\n          at 10s to oncall (alertmanager/0), group {alertname=\"gpu_ecc_error\", source=\"node-1\"}"), "\(report)")
    }

    @Test("an error in an inline config is named under config. with its line in the scenario file")
    func inlineConfigErrorsHaveFileLines() throws {
        let yaml = """
            # a comment
            config:
              route:
                receiver: oncall
                group_wait: 1s
              receivers:
                - name: oncall
                  slack_configs: [{channel: "#x"}]
            scenarios:
              - name: x
                expect: [{at: 0s, receiver: oncall, firing: [x]}]
            """
        let error = try #require(#expect(throws: ConfigError.self) { try Self.scenarioFile(yaml) })
        let issue = try #require(error.issues.first { $0.path == "config.receivers[0].slack_configs[0].api_url" }, "\(error)")
        #expect(issue.line == 7, "\(error)")
        #expect(error.issues.count == 1, "no follow-on errors from checks against a config that did not load: \(error)")
    }

    @Test("an invalid scenario file exits 2 and names each problem by YAML path and line")
    func invalidFileIsRefused() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("scenario-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bad.yaml").path
        try """
            config: \(packageRoot.appendingPathComponent("config/alerter.yaml").path)
            scenarios:
              - name: typos
                events:
                  - {at: soon, subject: system.error.x, event: {alert_type: x, severity: huge}}
                  - {at: 1s, subject: system.error.x, event: {alert_type: x, sevrity: warning}}
                  - {at: 2s, subject: system.error.x, event: {alert_type: x, labels: {bad-name: v}}}
                expect:
                  - {at: 10s, receiver: nobody, firing: [x]}
                  - {at: 20s, receiver: oncall, firng: [x]}
                  - {at: 30s, receiver: oncall, integration: slack, firing: [x]}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let result = await ScenarioRunner.test(paths: [path])
        #expect(result.status == 2)
        #expect(result.output.isEmpty)
        let errors = result.errors
        #expect(errors.contains("scenarios[0].events[0].at: \"soon\" is not a duration"), "\(errors)")
        #expect(errors.contains("scenarios[0].events[0].event: field \"severity\": \"huge\" is not a known value (line 5)"), "\(errors)")
        #expect(errors.contains("scenarios[0].expect[0].receiver: no receiver \"nobody\" in the config (have: oncall) (line 9)"), "\(errors)")
        #expect(errors.contains("scenarios[0].expect[1].firng: unknown field; did you mean \"firing\"?"), "\(errors)")
        #expect(errors.contains("scenarios[0].expect[2].integration: receiver \"oncall\" has no integration \"slack\" (has: alertmanager/0)"), "\(errors)")
        #expect(errors.contains("scenarios[0].events[2].event: the service would reject this event: "), "\(errors)")
        #expect(errors.contains("scenarios[0].events[1].event.sevrity: unknown field; did you mean \"severity\"?"), "\(errors)")
    }
}
