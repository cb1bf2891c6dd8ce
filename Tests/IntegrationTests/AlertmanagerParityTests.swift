import AlertCore
import AlertService
import AlertTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Parity with Alertmanager checked against Alertmanager's own tools and
/// files: amtool's regex acceptance, Alertmanager's shipped example configs,
/// and a catastrophic regex against the running binary.
@Suite("Alertmanager parity: amtool, Alertmanager's example files, RE2 in the service", .serialized)
struct AlertmanagerParityTests {
    /// Runs amtool (Debian's prometheus-alertmanager) to completion.
    static func amtool(_ arguments: [String], directory: URL) async throws -> (status: Int32, output: String) {
        let child = try ChildProcess(name: "amtool", executable: "/usr/bin/amtool", arguments: arguments, directory: directory)
        let status = try await child.waitForExit(timeout: .seconds(30))
        return (status, child.output)
    }

    static let patterns = [
        // Accepted by Go's regexp.
        "db|web", "(?i)DB", "\\d{2,3}", "\\pL+", "\\p{Greek}", "[[:alpha:]]+", "(?P<name>x)", "\\Qa.b\\E", "\\x{1F600}",
        "(?U)a+", "a)|(b", "\\12", "(?s).", "\\babc\\b", "[^\\x00-\\x{10FFFF}]", "a{,3}", "(a+)+b",
        // Refused by Go's regexp.
        "(?=a)b", "(?!a)", "(?<=a)b", "(?<n>x)", "(a)\\1", "a\\C", "\\Z", "\\8", "(a", "[a", ")", "a**", "*a",
        "a{1001}", "\\pX", "[[:foo:]]", "x{2}{3}",
    ]

    @Test("RE2 accepts exactly the patterns amtool check-config accepts, and refuses the rest with Go's message")
    func regexAcceptanceAgreesWithAmtool() async throws {
        let directory = try makeTemporaryDirectory("amtool-regex")
        defer { try? FileManager.default.removeItem(at: directory) }
        var accepted = 0, refused = 0
        for (index, pattern) in Self.patterns.enumerated() {
            // The matcher in YAML single quotes; inside it, Alertmanager's quoted value.
            let matcher = "x=~" + GoStyleQuote.quote(pattern)
            let yaml = """
                route:
                  receiver: r
                  routes:
                    - receiver: r
                      matchers: ['\(matcher.replacingOccurrences(of: "'", with: "''"))']
                receivers:
                  - name: r
                """
            let file = directory.appendingPathComponent("am-\(index).yml")
            try yaml.write(to: file, atomically: true, encoding: .utf8)
            let result = try await Self.amtool(["check-config", file.path], directory: directory)
            let ours = Result { try Matcher(name: "x", type: .regexMatch, value: pattern) }
            switch ours {
            case .success:
                accepted += 1
                #expect(result.status == 0, "\(pattern.debugDescription): RE2 accepts it, amtool refuses: \(result.output)")
            case .failure(let error):
                refused += 1
                #expect(result.status != 0, "\(pattern.debugDescription): amtool accepts it, RE2 refuses: \(error)")
                // amtool prints Go's "error parsing regexp: …: `fragment`"; ours carries the same text.
                let goMessage = result.output.split(separator: "\n").first { $0.contains("error parsing regexp") }
                    .flatMap { line in line.range(of: "error parsing regexp").map { String(line[$0.lowerBound...]) } }
                #expect(goMessage.map { "\(error)".contains($0) } == true, "\(pattern.debugDescription): amtool \(goMessage ?? "-"), ours \(error)")
            }
        }
        #expect(accepted >= 15 && refused >= 15)
    }

    static let fixtures = ["simple.yml", "conf.good.yml", "conf.http-config.good.yml"]
    static func fixture(_ name: String) -> URL {
        packageRoot.appendingPathComponent("Tests/Fixtures/alertmanager/\(name)")
    }

    @Test("Alertmanager's own example files load in check-config as they are, with a note for the missing nats section", arguments: fixtures)
    func alertmanagerFilesLoad(name: String) async throws {
        let directory = try makeTemporaryDirectory("am-files")
        defer { try? FileManager.default.removeItem(at: directory) }
        let amtool = try await Self.amtool(["check-config", Self.fixture(name).path], directory: directory)
        #expect(amtool.status == 0, "only files Alertmanager accepts are fixtures: \(amtool.output)")
        let ours = try await AlerterProcess.run(["check-config", "--config", Self.fixture(name).path], directory: directory)
        #expect(ours.status == 0, "\(ours.output)")
        #expect(ours.output.contains("note: nats: missing"))
    }

    @Test("options nats-alerter does not implement load with a note that names each")
    func unimplementedOptionsAreNamed() async throws {
        let directory = try makeTemporaryDirectory("am-notes")
        defer { try? FileManager.default.removeItem(at: directory) }
        let ours = try await AlerterProcess.run(["check-config", "--config", Self.fixture("conf.good.yml").path], directory: directory)
        #expect(ours.status == 0, "\(ours.output)")
        for named in ["global.http_config", "receivers[1].pagerduty_configs", "receivers[5].victorops_configs", "receivers[6].opsgenie_configs",
                      "receivers[7].pushover_configs", "templates: /etc/alertmanager/template/*.tmpl"] {
            #expect(ours.output.contains(named), "no note names \(named):\n\(ours.output)")
        }
    }

    @Test("routes test on a plain Alertmanager file reaches the receivers amtool names", arguments: [
        ["service=foo1", "severity=critical"], ["service=foo2"], ["service=files", "severity=critical"], ["service=files"],
        ["service=database", "owner2=team-X", "owner=team-Y"], ["service=database"], ["alertname=other"],
    ])
    func routesTestAgreesWithAmtool(labels: [String]) async throws {
        let directory = try makeTemporaryDirectory("am-routes")
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in ["simple.yml", "conf.good.yml"] {
            let amtool = try await Self.amtool(["config", "routes", "test", "--config.file=\(Self.fixture(name).path)"] + labels, directory: directory)
            #expect(amtool.status == 0, "\(amtool.output)")
            let expected = amtool.output.split(separator: "\n").first { !$0.hasPrefix("Warning:") }.map(String.init) ?? ""
            let ours = try await AlerterProcess.run(["routes", "test", "--config", Self.fixture(name).path] + labels, directory: directory)
            #expect(ours.status == 0, "\(ours.output)")
            let got = ours.output.split(separator: "\n").first.map(String.init) ?? ""
            #expect(got == expected, "\(name) \(labels)")
        }
    }

    @Test("random matcher trees and label sets route as amtool config routes test routes them")
    func randomRoutingAgreesWithAmtool() async throws {
        let directory = try makeTemporaryDirectory("am-random-routes")
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SeededGenerator(state: 14)
        let names = ["a", "b", "c"]
        let matcherValues = ["x", "y", "x|y", "x.*", ".+", "é", "", "[xy]+", "(?i)X", "e\u{301}"]
        let labelValues = ["x", "y", "xy", "X", "é", "e\u{301}", "1", ""]
        let types = ["=", "!=", "=~", "!~"]
        for index in 0..<30 {
            func matchers() -> String {
                (0..<Int.random(in: 1...2, using: &random)).map { _ in
                    let matcher = names.randomElement(using: &random)! + types.randomElement(using: &random)! + GoStyleQuote.quote(matcherValues.randomElement(using: &random)!)
                    return "'" + matcher.replacingOccurrences(of: "'", with: "''") + "'"
                }.joined(separator: ", ")
            }
            var routes = ""
            for child in 0..<Int.random(in: 2...4, using: &random) {
                routes += "    - receiver: r\(child + 1)\n      matchers: [\(matchers())]\n"
                if Bool.random(using: &random) { routes += "      continue: true\n" }
                if Int.random(in: 0..<3, using: &random) == 0 {
                    routes += "      routes:\n        - receiver: r5\n          matchers: [\(matchers())]\n"
                }
            }
            let yaml = "route:\n  receiver: r0\n  routes:\n" + routes + "receivers: [{name: r0}, {name: r1}, {name: r2}, {name: r3}, {name: r4}, {name: r5}]\n"
            let file = directory.appendingPathComponent("random-\(index).yml")
            try yaml.write(to: file, atomically: true, encoding: .utf8)
            let labels = names.compactMap { name in Bool.random(using: &random) ? "\(name)=\(labelValues.randomElement(using: &random)!)" : nil }
            let amtool = try await Self.amtool(["config", "routes", "test", "--config.file=\(file.path)"] + labels, directory: directory)
            guard amtool.status == 0 else {
                Issue.record("amtool refused case \(index):\n\(yaml)\n\(amtool.output)")
                continue
            }
            let expected = amtool.output.split(separator: "\n").first { !$0.hasPrefix("Warning:") }.map(String.init) ?? ""
            let ours = try await AlerterProcess.run(["routes", "test", "--config", file.path] + labels, directory: directory)
            let got = ours.output.split(separator: "\n").first.map(String.init) ?? ""
            #expect(got == expected, "case \(index) \(labels):\n\(yaml)")
        }
    }

    @Test("a silence victim=~\"(a+)+b\" and an alert with 40 a's do not stall the service: the next alert is notified within a second")
    func catastrophicRegexDoesNotStall() async throws {
        let directory = try makeTemporaryDirectory("re2-e2e")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let alerter = try AlerterProcess(config: """
            nats:
              servers: ["\(nats.url)"]
              subjects: ["system.error.>"]
            state: {backend: memory}
            log: {level: info, format: json}
            route:
              receiver: oncall
              group_by: [alertname]
              group_wait: 0s
              group_interval: 1s
            receivers: [{name: oncall}]
            """, directory: directory)
        defer { alerter.process.kill() }
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")

        let now = Date()
        let formatter = ISO8601DateFormatter()
        let silence = #"{"matchers":[{"name":"victim","value":"(a+)+b","isRegex":true,"isEqual":true}],"startsAt":"\#(formatter.string(from: now))","endsAt":"\#(formatter.string(from: now + 3600))","createdBy":"someone","comment":"catastrophic"}"#
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(alerter.httpPort)/api/v2/silences")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(silence.utf8)
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)

        func send(_ arguments: [String]) async throws {
            let result = try await AlerterProcess.run(["send", "--server", nats.url, "--subject", "system.error.critical"] + arguments, directory: directory)
            #expect(result.status == 0, "\(result.output)")
        }
        try await send(["--alertname", "victim_alert", "--label", "victim=" + String(repeating: "a", count: 40)])
        try await send(["--alertname", "next_alert"])
        let published = ContinuousClock.now
        // Two lines name it: the alert_firing line and the notification.
        try await alerter.process.waitForOutput(containing: "next_alert", count: 2, timeout: .seconds(10))
        #expect(ContinuousClock.now - published < .seconds(1))
        let notified = alerter.process.jsonLines.filter { $0["event"] as? String == "notification" }
        #expect(notified.contains { ($0["group_labels"] as? [String: String])?["alertname"] == "next_alert" })
        // The silence does not match 40 a's without a b: the victim alert is notified too.
        #expect(notified.contains { ($0["group_labels"] as? [String: String])?["alertname"] == "victim_alert" })
    }
}

/// Alertmanager's quoting of a matcher value: `\`, `"` and newline escaped.
enum GoStyleQuote {
    static func quote(_ value: String) -> String {
        "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
