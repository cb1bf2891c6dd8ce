import AlertTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import Yams

/// The shipped Grafana dashboard and Prometheus rules against a running
/// nats-alerter, and the "down" rule fired by a real Prometheus into a real
/// Alertmanager. (scripts/check-deploy.sh does the checks that need no
/// running service.)
@Suite("Deployment files against a running nats-alerter and a real Prometheus", .serialized)
struct DeploymentFilesTests {
    static let dashboardFile = packageRoot.appendingPathComponent("config/grafana/dashboards/nats-alerter.json")
    static let rulesFile = packageRoot.appendingPathComponent("config/prometheus/alerts.yml")

    /// Metric names the rules may use although nats-alerter does not export
    /// them: `up` is made by Prometheus.
    static let notExportedByThisBuild: Set<String> = ["up"]

    static func get(_ url: String) async throws -> (status: Int, body: String) {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// Runs nats-alerter through what makes every metric family appear — a
    /// delivered, a retried and a dead-lettered notification (durable
    /// outbox), a duplicate, a rejected and dead-lettered event, a silence — and returns the sample names of /metrics
    /// with the label names each carries.
    static func scrapeOfABusyAlerter(directory: URL) async throws -> [String: Set<String>] {
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        // First notification: 500 (retried), then 400 (given up); the next ones 200.
        let webhook = try await HTTPRecorder(directory: directory, responses: ["500", "400"])
        let port = freeLoopbackPort()
        let config = """
            nats: {servers: ["\(nats.url)"], subjects: ["system.>"], jetstream: {stream: EVENTS, durable: alerter, dead_letter_subject: dead.letters}}
            state: {backend: jetstream}
            server: {listen_address: "127.0.0.1:\(port)"}
            route: {receiver: hook, group_by: [alertname], group_wait: 0s, group_interval: 1s}
            receivers: [{name: hook, webhook_configs: [{url: "\(webhook.url)"}]}]
            """
        let alerter = try AlerterProcess(config: config, directory: directory)
        defer { alerter.process.kill() }
        try await alerter.process.waitForOutput(containing: "subscribed; waiting for events")
        func send(_ alertname: String) async throws {
            #expect(try await AlerterProcess.run(["send", "--server", nats.url, "--subject", "system.error.critical",
                                                  "--alertname", alertname, "--source", "n1"], directory: directory).status == 0)
        }
        try await send("first")
        try await send("first")  // a duplicate
        #expect(await waitUntil(timeout: .seconds(15)) { webhook.requests.count >= 2 }, "webhook requests: \(webhook.requests.count)")
        try await send("second")
        #expect(await waitUntil(timeout: .seconds(15)) { webhook.requests.count >= 3 })
        try rawPublish(url: nats.url, subject: "system.garbage", payload: [0x10, 0x63], times: 1)
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/v2/silences")!)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(#"{"matchers":[{"name":"alertname","value":"first","isRegex":false}],"startsAt":"2020-01-01T00:00:00Z","endsAt":"2099-01-01T00:00:00Z","createdBy":"test","comment":"metrics"}"#.utf8)
        let (_, silenceResponse) = try await URLSession.shared.data(for: request)
        #expect((silenceResponse as? HTTPURLResponse)?.statusCode == 200)

        var names: [String: Set<String>] = [:]
        let complete = await waitUntilAsync(timeout: .seconds(20)) {
            guard let scrape = try? await get("http://127.0.0.1:\(port)/metrics"), scrape.status == 200 else { return false }
            names = PromQL.sampleLabels(scrape.body)
            return names["nats_alerter_notifications_failed_total"] != nil && names["nats_alerter_notification_latency_seconds_bucket"] != nil
                && names["nats_alerter_events_rejected_total"] != nil && names["nats_alerter_outbox_pending"] != nil
                && names["nats_alerter_notifications_dead_lettered_total"] != nil && names["nats_alerter_events_dead_lettered_total"] != nil
        }
        #expect(complete, "the scrape lacks the notification or rejection metrics:\n\(names.keys.sorted())\n\(alerter.process.output.suffix(2000))")
        return names
    }

    @Test("every metric in the Grafana dashboard's queries and the alert rules is one a running nats-alerter exports, grouped by labels it has")
    func dashboardAndRulesUseExportedMetrics() async throws {
        let directory = try makeTemporaryDirectory("deployment-metrics")
        defer { try? FileManager.default.removeItem(at: directory) }
        let scraped = try await Self.scrapeOfABusyAlerter(directory: directory)
        let exported = Set(scraped.keys)
        // Labels that Prometheus adds to every series it scrapes.
        let targetLabels: Set<String> = ["instance", "job"]
        /// The grouping labels of a query that none of its metrics carries.
        func unknownLabels(_ query: String) -> Set<String> {
            let carried = PromQL.metricNames(query).reduce(into: targetLabels) { $0.formUnion(scraped[$1] ?? []) }
            return PromQL.groupingLabels(query).subtracting(carried)
        }

        let dashboard = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.dashboardFile)) as? [String: Any])
        let queries = PromQL.dashboardQueries(dashboard)
        #expect(queries.count >= 30, "dashboard queries: \(queries.count)")
        let dashboardMetrics = Set(queries.flatMap(PromQL.metricNames))
        // What the issue asks the dashboard to show, by the metric it shows it with.
        let required: Set<String> = [
            "nats_alerter_events_received_total", "nats_alerter_events_rejected_total", "nats_alerter_events_duplicate_total",
            "nats_alerter_alerts_active", "alert_active", "nats_alerter_notifications_total", "nats_alerter_notifications_failed_total",
            "nats_alerter_notification_latency_seconds_bucket", "nats_alerter_notification_queue_depth", "nats_alerter_nats_pending_messages",
            "nats_alerter_nats_connected", "process_cpu_seconds_total", "process_resident_memory_bytes",
            "nats_alerter_config_last_reload_success_timestamp_seconds",
        ]
        #expect(required.subtracting(dashboardMetrics).isEmpty, "the dashboard does not show \(required.subtracting(dashboardMetrics).sorted())")
        #expect(dashboardMetrics.subtracting(exported).isEmpty,
                "the dashboard queries metrics nats-alerter does not export: \(dashboardMetrics.subtracting(exported).sorted())")
        for query in queries {
            #expect(unknownLabels(query).isEmpty, "the dashboard groups by labels its metrics do not have: \(unknownLabels(query).sorted()) in \(query)")
        }

        let rules = try #require(try Yams.load(yaml: String(contentsOf: Self.rulesFile, encoding: .utf8)) as? [String: Any])
        let expressions = ((rules["groups"] as? [[String: Any]]) ?? []).flatMap { ($0["rules"] as? [[String: Any]]) ?? [] }.compactMap { $0["expr"] as? String }
        #expect(expressions.count >= 8)
        let ruleMetrics = Set(expressions.flatMap(PromQL.metricNames))
        #expect(ruleMetrics.count >= 8, "\(ruleMetrics)")
        #expect(ruleMetrics.subtracting(exported).subtracting(Self.notExportedByThisBuild).isEmpty,
                "the rules use metrics nats-alerter does not export: \(ruleMetrics.subtracting(exported).subtracting(Self.notExportedByThisBuild).sorted())")
        for expression in expressions where Set(PromQL.metricNames(expression)).isDisjoint(with: Self.notExportedByThisBuild) {
            #expect(unknownLabels(expression).isEmpty, "a rule groups by labels its metrics do not have: \(unknownLabels(expression).sorted()) in \(expression)")
        }
    }

    @Test("the metric-name extractor finds names and only names")
    func extractor() {
        #expect(PromQL.metricNames(#"histogram_quantile(0.9, sum by (le, integration) (rate(nats_alerter_notification_latency_seconds_bucket{instance=~"$instance", x="a b"}[$__rate_interval])))"#)
            == ["nats_alerter_notification_latency_seconds_bucket"])
        #expect(PromQL.metricNames(#"sum(rate(a_total[5m])) / sum(rate(b_total{job="x"}[5m])) > 0 and on (instance) c == 0 unless d offset 5m"#)
            == ["a_total", "b_total", "c", "d"])
        #expect(PromQL.metricNames("label_values(nats_alerter_build_info, instance)") == ["nats_alerter_build_info"])
        #expect(PromQL.metricNames(#"up{job="nats-alerter"} == bool 0"#) == ["up"])
        #expect(PromQL.groupingLabels(#"sum by (le, integration) (rate(x[5m])) / on(instance) sum without (a) (y)"#) == ["le", "integration", "a"])
        #expect(PromQL.sampleLabels("# HELP a x\na_total{subject=\"s,}\",reason=\"r\"} 1\nb 2\n") == ["a_total": ["subject", "reason"], "b": []])
    }

    @Test("Prometheus with the shipped config and NatsAlerterDown rule fires it into Alertmanager when nats-alerter stops")
    func downAlertReachesAlertmanager() async throws {
        let directory = try makeTemporaryDirectory("prometheus-down")
        defer { try? FileManager.default.removeItem(at: directory) }
        let nats = try await NATSServer.start(in: directory)
        defer { nats.kill() }
        let alertmanager = try await AlertmanagerServer(directory: directory, config: String(
            contentsOf: packageRoot.appendingPathComponent("config/alertmanager/alertmanager.yml"), encoding: .utf8))
        defer { alertmanager.process.kill() }

        // The shipped rule file, with only NatsAlerterDown's `for:` shortened
        // (promtool's unit tests in alerts.test.yml cover the shipped 1m).
        var rules = try #require(try Yams.load(yaml: String(contentsOf: Self.rulesFile, encoding: .utf8)) as? [String: Any])
        var groups = try #require(rules["groups"] as? [[String: Any]])
        var ruleList = try #require(groups[0]["rules"] as? [[String: Any]])
        let index = try #require(ruleList.firstIndex { $0["alert"] as? String == "NatsAlerterDown" })
        let shipped = ruleList[index]
        ruleList[index]["for"] = "3s"
        groups[0]["rules"] = ruleList
        rules["groups"] = groups
        let testRules = directory.appendingPathComponent("alerts.yml")
        try Yams.dump(object: rules).write(to: testRules, atomically: true, encoding: .utf8)

        // Prometheus's and nats-alerter's configs as scripts/run-stack.sh renders them.
        let alerterPort = freeLoopbackPort(), prometheusPort = freeLoopbackPort()
        let rendered = directory.appendingPathComponent("stack")
        let render = try ChildProcess(
            name: "run-stack-render", executable: "/usr/bin/env",
            arguments: ["NATS_PORT=\(nats.port)", "ALERTMANAGER_PORT=\(alertmanager.port)", "ALERTER_PORT=\(alerterPort)",
                        "PROMETHEUS_PORT=\(prometheusPort)", "SCRAPE_INTERVAL=1s", "PROMETHEUS_RULES=\(testRules.path)",
                        packageRoot.appendingPathComponent("scripts/run-stack.sh").path, "--render-only", rendered.path],
            directory: directory)
        #expect(try await render.waitForExit(timeout: .seconds(20)) == 0, "\(render.output)")

        let alerter = try AlerterProcess(config: String(contentsOf: rendered.appendingPathComponent("alerter.yaml"), encoding: .utf8), directory: directory)
        defer { alerter.process.kill() }
        let prometheus = try await PrometheusServer(configFile: rendered.appendingPathComponent("prometheus.yml"), port: prometheusPort, directory: directory)
        defer { prometheus.process.kill() }

        func targetHealth() async -> [String: String] {
            guard let response = try? await Self.get("\(prometheus.baseURL)/api/v1/targets"),
                  let object = try? JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any],
                  let targets = (object["data"] as? [String: Any])?["activeTargets"] as? [[String: Any]] else { return [:] }
            return Dictionary(targets.compactMap { target in
                ((target["labels"] as? [String: String])?["job"]).map { ($0, target["health"] as? String ?? "") }
            }, uniquingKeysWith: { first, _ in first })
        }
        func alertmanagerAlerts() async -> [[String: Any]] {
            guard let response = try? await Self.get("\(alertmanager.baseURL)/api/v2/alerts") else { return [] }
            return (try? JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [[String: Any]]) ?? []
        }
        func downAlerts() async -> [[String: Any]] {
            await alertmanagerAlerts().filter { ($0["labels"] as? [String: String])?["alertname"] == "NatsAlerterDown" }
        }

        // Every target of the shipped scrape config is up while nats-alerter runs…
        let allUp = await waitUntilAsync(timeout: .seconds(30)) {
            await targetHealth() == ["nats-alerter": "up", "alertmanager": "up", "prometheus": "up"]
        }
        let health = await targetHealth()
        #expect(allUp, "targets: \(health)\n\(prometheus.process.output.suffix(2000))")
        // …and for a few evaluations after, NatsAlerterDown stays quiet.
        try await Task.sleep(for: .seconds(5))
        let early = await downAlerts()
        #expect(early.isEmpty, "NatsAlerterDown fired while nats-alerter was up: \(early)")

        await alerter.process.stop()
        let fired = await waitUntilAsync(timeout: .seconds(45)) { await !downAlerts().isEmpty }
        let healthAfter = await targetHealth()
        #expect(fired, "no NatsAlerterDown in Alertmanager; targets \(healthAfter)\n\(prometheus.process.output.suffix(2000))")
        let alert = try #require(await downAlerts().first)
        let labels = try #require(alert["labels"] as? [String: String])
        #expect(labels["job"] == "nats-alerter")
        #expect(labels["instance"] == "127.0.0.1:\(alerterPort)")
        #expect(labels["severity"] == (shipped["labels"] as? [String: String])?["severity"])
        #expect(labels["stack"] == "nats-alerter", "the external label of the shipped config")
        #expect((alert["annotations"] as? [String: String])?["summary"] == "nats-alerter 127.0.0.1:\(alerterPort) is down")
    }
}

/// A real Prometheus (Debian's) on a given loopback port, with its data in the test's directory.
final class PrometheusServer: Sendable {
    let port: Int
    let process: ChildProcess
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(configFile: URL, port: Int, directory: URL) async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prometheus") else {
            throw HarnessError("prometheus is not installed (scripts/setup.sh --test)")
        }
        self.port = port
        let process = try ChildProcess(
            name: "prometheus", executable: "/usr/bin/prometheus",
            arguments: ["--config.file=\(configFile.path)", "--storage.tsdb.path=\(directory.appendingPathComponent("prometheus-data").path)",
                        "--web.listen-address=127.0.0.1:\(port)"],
            directory: directory)
        self.process = process
        guard await waitUntil(timeout: .seconds(20), { isListening(port) || !process.isRunning }), process.isRunning else {
            throw HarnessError("prometheus did not listen on \(port):\n\(process.output.suffix(3000))")
        }
    }
}

/// Just enough PromQL to list the metric names a query reads.
enum PromQL {
    static let keywords: Set<String> = ["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "atan2", "inf", "nan"]

    /// Every PromQL expression of a Grafana dashboard: panel targets (rows included), annotations, template queries.
    static func dashboardQueries(_ dashboard: [String: Any]) -> [String] {
        func panels(_ list: [[String: Any]]) -> [[String: Any]] {
            list.flatMap { [$0] + panels(($0["panels"] as? [[String: Any]]) ?? []) }
        }
        var queries = panels((dashboard["panels"] as? [[String: Any]]) ?? []).flatMap { panel in
            ((panel["targets"] as? [[String: Any]]) ?? []).compactMap { $0["expr"] as? String }
        }
        queries += (((dashboard["annotations"] as? [String: Any])?["list"] as? [[String: Any]]) ?? []).compactMap { $0["expr"] as? String }
        queries += (((dashboard["templating"] as? [String: Any])?["list"] as? [[String: Any]]) ?? []).compactMap {
            ($0["query"] as? [String: Any])?["query"] as? String ?? $0["query"] as? String
        }
        return queries
    }

    /// Labels a query aggregates by or without (`on`/`ignoring` match target labels and are left out).
    static func groupingLabels(_ query: String) -> Set<String> {
        let text = query.replacingOccurrences(of: #"\{[^}]*\}"#, with: " ", options: .regularExpression)
        let clause = try! Regex(#"\b(?:by|without)\s*\(([^)]*)\)"#)
        return Set(text.matches(of: clause).flatMap { match in
            (match.output[1].substring ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        })
    }

    /// Sample names of a Prometheus text exposition and the label names each carries.
    static func sampleLabels(_ exposition: String) -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        let labelName = try! Regex(#"([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*""#)
        for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
            guard let name = line.split(whereSeparator: { $0 == "{" || $0 == " " }).first.map(String.init) else { continue }
            var labels = result[name] ?? []
            if let open = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}") {
                labels.formUnion(line[line.index(after: open)..<close].matches(of: labelName).map { String($0.output[1].substring ?? "") })
            }
            result[name] = labels
        }
        return result
    }

    static func metricNames(_ query: String) -> [String] {
        // Grafana's label_values(metric, label): only the metric is a name.
        var text = query.replacingOccurrences(of: #"label_values\(\s*([^,()]*?)\s*,\s*\w+\s*\)"#, with: "$1", options: .regularExpression)
        // Strings, label matchers, ranges, Grafana variables, grouping clauses.
        for pattern in [#""(?:[^"\\]|\\.)*""#, #"'(?:[^'\\]|\\.)*'"#, #"\{[^}]*\}"#, #"\[[^\]]*\]"#, #"\$\{?\w+\}?"#,
                        #"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"#] {
            text = text.replacingOccurrences(of: pattern, with: " ", options: .regularExpression)
        }
        var names: [String] = []
        let scanner = text.unicodeScalars
        var index = scanner.startIndex
        func isStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c == ":" || CharacterSet.letters.contains(c) }
        func isPart(_ c: Unicode.Scalar) -> Bool { isStart(c) || CharacterSet.decimalDigits.contains(c) }
        while index < scanner.endIndex {
            let c = scanner[index]
            if CharacterSet.decimalDigits.contains(c) || c == "." {
                // A number (possibly 1e-9): skip it whole.
                while index < scanner.endIndex, isPart(scanner[index]) || scanner[index] == "." { index = scanner.index(after: index) }
                continue
            }
            guard isStart(c) else { index = scanner.index(after: index); continue }
            var end = index
            while end < scanner.endIndex, isPart(scanner[end]) { end = scanner.index(after: end) }
            let word = String(String.UnicodeScalarView(scanner[index..<end]))
            var next = end
            while next < scanner.endIndex, scanner[next] == " " { next = scanner.index(after: next) }
            let isCall = next < scanner.endIndex && scanner[next] == "("
            if !isCall, !keywords.contains(word.lowercased()), !names.contains(word) { names.append(word) }
            index = end
        }
        return names
    }
}
