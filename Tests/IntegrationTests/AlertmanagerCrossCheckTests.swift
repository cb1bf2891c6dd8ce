import AlertCore
import AlertService
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// The same alert sequence and the same routing config go to a real
/// Prometheus Alertmanager (which notifies a local webhook recorder) and to
/// nats-alerter's engine on a virtual clock; both must notify the same groups
/// with the same alerts, in the same order per group.
@Suite("Engine against a real Alertmanager")
struct AlertmanagerCrossCheckTests {
    static func routing(webhook: String) -> String {
        """
        route:
          receiver: default
          group_by: [alertname]
          group_wait: 1s
          group_interval: 3s
          repeat_interval: 1h
          routes:
            - matchers: ['team="db"']
              receiver: db
              continue: true
            - matchers: ['team=~"db|web"']
              receiver: dev
        inhibit_rules:
          - source_matchers: ['severity="critical"']
            target_matchers: ['severity="warning"']
            equal: [cluster]
        receivers:
          - name: default
            webhook_configs: [{url: "\(webhook)/default"}]
          - name: db
            webhook_configs: [{url: "\(webhook)/db"}]
          - name: dev
            webhook_configs: [{url: "\(webhook)/dev"}]
        """
    }

    static let alerts: [AlertEvent] = [
        AlertEvent(alertType: "disk_full", severity: .error, labels: ["instance": "a", "team": "db"], subject: "system.error.critical"),
        AlertEvent(alertType: "disk_full", severity: .error, labels: ["instance": "b", "team": "db"], subject: "system.error.critical"),
        AlertEvent(alertType: "cpu_hot", severity: .error, labels: ["instance": "c", "team": "web"], subject: "system.error.critical"),
        AlertEvent(alertType: "node_down", severity: .critical, labels: ["cluster": "x", "team": "infra"], subject: "system.error.critical"),
        AlertEvent(alertType: "disk_slow", severity: .warning, labels: ["cluster": "x", "team": "infra", "instance": "d"], subject: "system.error.critical"),
        AlertEvent(alertType: "disk_slow", severity: .warning, labels: ["cluster": "y", "team": "infra", "instance": "e"], subject: "system.error.critical"),
    ]
    static let silencedInstance = "b"
    static let resolvedAt = 5.0
    static let runFor = 12.0

    /// `receiver {group labels}` → the notifications, each `firing=[…] resolved=[…]` by instance or alertname.
    typealias Transcript = [String: [String]]

    static func line(firing: [LabelSet], resolved: [LabelSet]) -> String {
        func names(_ sets: [LabelSet]) -> String {
            sets.map { $0["instance"] ?? $0["alertname"] ?? "?" }.sorted().joined(separator: ",")
        }
        return "firing=[\(names(firing))] resolved=[\(names(resolved))]"
    }

    @Test("same routing, silences, inhibition and resolve: the same notifications")
    func sameNotifications() async throws {
        let directory = try makeTemporaryDirectory("am-cross")
        defer { try? FileManager.default.removeItem(at: directory) }
        let recorder = try await HTTPRecorder(directory: directory)
        defer { recorder.process.kill() }
        let alertmanager = try await AlertmanagerServer(directory: directory, config: Self.routing(webhook: recorder.url))
        defer { alertmanager.process.kill() }

        // Alertmanager, in real time.
        let start = Date()
        try await postSilence(alertmanager, instance: Self.silencedInstance, from: start, to: start.addingTimeInterval(3600))
        try await postAlerts(alertmanager, Self.alerts.map { ($0.alertLabels, start, nil) })
        try await Task.sleep(until: .now + .seconds(Self.resolvedAt), clock: .continuous)
        let resolveTime = Date()
        try await postAlerts(alertmanager, [(Self.alerts[0].alertLabels, start, resolveTime)])
        try await Task.sleep(until: .now + .seconds(Self.runFor - Self.resolvedAt), clock: .continuous)

        var fromAlertmanager: Transcript = [:]
        for request in recorder.requests {
            guard let payload = request.json as? [String: Any], let receiver = payload["receiver"] as? String,
                  let groupLabels = payload["groupLabels"] as? [String: String],
                  let alerts = payload["alerts"] as? [[String: Any]] else { continue }
            let firing = alerts.filter { $0["status"] as? String == "firing" }.compactMap { ($0["labels"] as? [String: String]).map(LabelSet.init) }
            let resolved = alerts.filter { $0["status"] as? String == "resolved" }.compactMap { ($0["labels"] as? [String: String]).map(LabelSet.init) }
            fromAlertmanager["\(receiver) \(LabelSet(groupLabels))", default: []].append(Self.line(firing: firing, resolved: resolved))
        }

        // nats-alerter's engine, on a virtual clock, with the same config.
        let config = try ConfigLoader.parse(yaml: "nats: {subjects: [\"system.>\"]}\n" + Self.routing(webhook: recorder.url))
        let origin = Date(timeIntervalSince1970: 1_800_000_000)
        let store = AlertStore()
        let silencer = Silencer()
        let engine = AlertEngine(configuration: config.engine, store: store, silencer: silencer)
        try silencer.upsert(Silence(matchers: [try Matcher(name: "instance", type: .equal, value: Self.silencedInstance)],
                                    startsAt: origin, endsAt: origin.addingTimeInterval(3600), createdBy: "test", comment: "cross-check"),
                            now: origin)
        var sent: [AlertCore.Notification] = []
        func run(to t: Double) {
            let target = origin.addingTimeInterval(t)
            while let deadline = engine.nextDeadline, deadline <= target { sent += engine.advance(to: deadline) }
            sent += engine.advance(to: target)
        }
        engine.apply(Self.alerts.map { store.apply($0, receivedAt: origin) }, at: origin)
        run(to: Self.resolvedAt)
        var resolve = Self.alerts[0]
        resolve.status = .resolved
        let now = origin.addingTimeInterval(Self.resolvedAt)
        engine.apply([store.apply(resolve, receivedAt: now)], at: now)
        run(to: Self.runFor)
        var fromEngine: Transcript = [:]
        for notification in sent {
            fromEngine["\(notification.receiver) \(notification.groupLabels)", default: []].append(
                Self.line(firing: notification.firing.map(\.alert.labels), resolved: notification.resolved.map(\.alert.labels)))
        }

        #expect(!fromAlertmanager.isEmpty, "Alertmanager sent nothing; recorder saw \(recorder.requests.count) requests")
        #expect(fromEngine == fromAlertmanager)
        // The scenario exercises what it claims to.
        #expect(fromEngine["db {alertname=\"disk_full\"}"] == ["firing=[a] resolved=[]", "firing=[] resolved=[a]"])
        #expect(fromEngine["default {alertname=\"disk_slow\"}"] == ["firing=[e] resolved=[]"])
    }

    /// The second scenario: Alertmanager's keys and identities. Route matchers
    /// written out of order, group labels that need Go's quoting, an empty
    /// label value, and one receiver with two webhooks of which only the first
    /// sends resolves.
    static func keysRouting(webhook: String) -> String {
        """
        route:
          receiver: default
          group_by: [alertname, a]
          group_wait: 1s
          group_interval: 3s
          repeat_interval: 1h
          routes:
            - matchers: ['team="db"', 'env=~"prod|stage"']
              receiver: db
        receivers:
          - name: default
            webhook_configs: [{url: "\(webhook)/default"}]
          - name: db
            webhook_configs:
              - {url: "\(webhook)/db-loud", send_resolved: true}
              - {url: "\(webhook)/db-quiet", send_resolved: false}
        """
    }

    static let keyAlerts: [AlertEvent] = [
        AlertEvent(alertType: "disk_full", severity: .error, labels: ["a": #"1", b="2"#, "team": "db", "env": "prod", "instance": "i1"], subject: "system.error.critical"),
        AlertEvent(alertType: "disk_full", severity: .error, labels: ["a": "1", "b": "2", "team": "db", "env": "prod", "instance": "i2"], subject: "system.error.critical"),
        AlertEvent(alertType: "disk_full", severity: .error, labels: ["a": "1", "team": "db", "env": "stage", "instance": "i3"], subject: "system.error.critical"),
        AlertEvent(alertType: "cpu_hot", severity: .warning, labels: ["a": "tab\there\u{A0}", "team": "", "instance": "i4"], subject: "system.error.critical"),
        AlertEvent(alertType: "cpu_hot", severity: .warning, labels: ["a": "caf\u{E9}", "instance": "i5"], subject: "system.error.critical"),
        AlertEvent(alertType: "cpu_hot", severity: .warning, labels: ["a": "cafe\u{301}", "instance": "i6"], subject: "system.error.critical"),
    ]

    @Test("route keys, group keys, fingerprints and per-integration send_resolved are Alertmanager's, byte for byte")
    func sameKeysAndFingerprints() async throws {
        let directory = try makeTemporaryDirectory("am-keys")
        defer { try? FileManager.default.removeItem(at: directory) }
        let recorder = try await HTTPRecorder(directory: directory)
        defer { recorder.process.kill() }
        let alertmanager = try await AlertmanagerServer(directory: directory, config: Self.keysRouting(webhook: recorder.url))
        defer { alertmanager.process.kill() }

        // Alertmanager, in real time; alerts posted with every label as published, empty ones included.
        let start = Date()
        try await postAlerts(alertmanager, Self.keyAlerts.map { ($0.alertLabels, start, nil) }, keepEmpty: ["team": ""])
        try await Task.sleep(until: .now + .seconds(Self.resolvedAt), clock: .continuous)
        try await postAlerts(alertmanager, [(Self.keyAlerts[1].alertLabels, start, Date())])
        try await Task.sleep(until: .now + .seconds(Self.runFor - Self.resolvedAt), clock: .continuous)

        /// `path groupKey` → `firing=[fingerprints] resolved=[fingerprints]` per notification.
        var fromAlertmanager: Transcript = [:]
        for request in recorder.requests {
            guard let payload = request.json as? [String: Any], let groupKey = payload["groupKey"] as? String,
                  let alerts = payload["alerts"] as? [[String: Any]] else { continue }
            func prints(_ status: String) -> String {
                alerts.filter { $0["status"] as? String == status }.compactMap { $0["fingerprint"] as? String }.sorted().joined(separator: ",")
            }
            fromAlertmanager[Self.byteFaithful("\(request.path) \(groupKey)"), default: []].append("firing=[\(prints("firing"))] resolved=[\(prints("resolved"))]")
        }

        // nats-alerter's engine on a virtual clock, same config.
        let config = try ConfigLoader.parse(yaml: Self.keysRouting(webhook: recorder.url), requireNATS: false)
        let origin = Date(timeIntervalSince1970: 1_800_000_000)
        let store = AlertStore()
        let engine = AlertEngine(configuration: config.engine, store: store)
        var sent: [AlertCore.Notification] = []
        func run(to t: Double) {
            let target = origin.addingTimeInterval(t)
            while let deadline = engine.nextDeadline, deadline <= target { sent += engine.advance(to: deadline) }
            sent += engine.advance(to: target)
        }
        engine.apply(Self.keyAlerts.map { store.apply($0, receivedAt: origin) }, at: origin)
        run(to: Self.resolvedAt)
        var resolve = Self.keyAlerts[1]
        resolve.status = .resolved
        let now = origin.addingTimeInterval(Self.resolvedAt)
        engine.apply([store.apply(resolve, receivedAt: now)], at: now)
        run(to: Self.runFor)
        let paths = ["default webhook/0": "/default", "db webhook/0": "/db-loud", "db webhook/1": "/db-quiet"]
        var fromEngine: Transcript = [:]
        for notification in sent {
            let path = paths["\(notification.receiver) \(notification.integration ?? "-")"] ?? "?"
            func prints(_ alerts: [NotifiedAlert]) -> String { alerts.map(\.alert.fingerprint.description).sorted().joined(separator: ",") }
            fromEngine[Self.byteFaithful("\(path) \(notification.groupKey)"), default: []].append(
                "firing=[\(prints(notification.firing))] resolved=[\(notification.sendResolved ? prints(notification.resolved) : "")]")
        }

        #expect(!fromAlertmanager.isEmpty, "Alertmanager sent nothing; recorder saw \(recorder.requests.count) requests")
        #expect(fromEngine == fromAlertmanager)
        // The scenario exercises what it claims to: sorted route matchers, %q-quoted group labels,
        // one group per byte sequence, a resolve only for the integration that sends them.
        let keys = Set(fromEngine.keys)
        #expect(keys.contains(#"/db-loud {}/{env=~"prod|stage",team="db"}:{a="1\", b=\"2", alertname="disk_full"}"#), "\(keys.sorted())")
        #expect(keys.contains(#"/default {}:{a="tab\there\u00a0", alertname="cpu_hot"}"#), "\(keys.sorted())")
        #expect(keys.filter { $0.hasPrefix("/default") }.count == 3)
        #expect(fromEngine.keys.filter { $0.hasPrefix("/db-loud") }.flatMap { fromEngine[$0]! }.contains { !$0.hasSuffix("resolved=[]") })
        #expect(fromEngine.keys.filter { $0.hasPrefix("/db-quiet") }.flatMap { fromEngine[$0]! }.allSatisfy { $0.hasSuffix("resolved=[]") })
    }

    /// Non-ASCII code points spelled out, so keys that differ only in
    /// Unicode normalization stay two keys in a Swift dictionary.
    static func byteFaithful(_ text: String) -> String {
        text.unicodeScalars.map { $0.isASCII ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined()
    }

    /// - Parameter keepEmpty: labels with empty values to post as well (a
    ///   `LabelSet` has none; Alertmanager must drop them itself).
    func postAlerts(_ alertmanager: AlertmanagerServer, _ alerts: [(LabelSet, Date, Date?)], keepEmpty: [String: String] = [:]) async throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let body = alerts.map { labels, startsAt, endsAt -> [String: Any] in
            var alert: [String: Any] = ["labels": labels.dictionary.merging(keepEmpty) { current, _ in current }, "startsAt": formatter.string(from: startsAt)]
            if let endsAt { alert["endsAt"] = formatter.string(from: endsAt) }
            return alert
        }
        try await post(alertmanager.baseURL.appendingPathComponent("api/v2/alerts"), body)
    }

    func postSilence(_ alertmanager: AlertmanagerServer, instance: String, from: Date, to: Date) async throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        try await post(alertmanager.baseURL.appendingPathComponent("api/v2/silences"), [
            "matchers": [["name": "instance", "value": instance, "isRegex": false, "isEqual": true]],
            "startsAt": formatter.string(from: from), "endsAt": formatter.string(from: to),
            "createdBy": "test", "comment": "cross-check",
        ])
    }

    func post(_ url: URL, _ object: Any) async throws {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: object)
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw HarnessError("POST \(url.path) → \(status): \(String(decoding: data, as: UTF8.self))")
        }
    }
}
