import AlertCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Fingerprints cross-checked against a live Prometheus Alertmanager: post
/// label sets to its API, read back the fingerprints it computed, compare.
@Suite("Fingerprints against a real Alertmanager")
struct AlertmanagerFingerprintTests {
    @Test("Alertmanager computes the same fingerprint for event-derived and random label sets")
    func sameFingerprints() async throws {
        let directory = try makeTemporaryDirectory("am-fp")
        defer { try? FileManager.default.removeItem(at: directory) }
        let alertmanager = try await AlertmanagerServer(directory: directory)
        defer { alertmanager.process.kill() }

        var labelSets: [LabelSet] = [
            AlertEvent(alertType: "process_crash", severity: .critical, source: "worker-7", labels: ["cluster": "a"],
                       subject: "simulation_worker.process_crash").alertLabels,
            AlertEvent(subject: "system.error.critical").alertLabels,
            AlertEvent(alertType: "diverged_irrecoverably", severity: .error, labels: ["run": "ppo-42", "zone": "é✓ 日本"],
                       subject: "drl_training.diverged_irrecoverably").alertLabels,
        ]
        // Random label sets: names from Prometheus' alphabet, values any Unicode.
        var generator = SystemRandomNumberGenerator()
        let nameCharacters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789")
        let valueScalars: [Unicode.Scalar] = Array("aZ09 _-.:/=,{}\"\\".unicodeScalars) + ["é", "ß", "✓", "日", "😀", "\u{7f}"]
        for index in 0..<60 {
            var pairs: [(String, String)] = [("alertname", "random_\(index)")]
            for _ in 0..<Int.random(in: 0...8, using: &generator) {
                let name = String(nameCharacters[Int.random(in: 0..<52, using: &generator)])
                    + String((0..<Int.random(in: 0...10, using: &generator)).map { _ in nameCharacters.randomElement(using: &generator)! })
                var value = String.UnicodeScalarView()
                for _ in 0..<Int.random(in: 1...20, using: &generator) { value.append(valueScalars.randomElement(using: &generator)!) }
                pairs.append((name, String(value)))
            }
            labelSets.append(LabelSet(pairs))
        }

        let body = try JSONSerialization.data(withJSONObject: labelSets.map { ["labels": $0.dictionary] })
        var post = URLRequest(url: alertmanager.baseURL.appendingPathComponent("api/v2/alerts"))
        post.httpMethod = "POST"
        post.setValue("application/json", forHTTPHeaderField: "Content-Type")
        post.httpBody = body
        let (_, postResponse) = try await URLSession.shared.data(for: post)
        #expect((postResponse as? HTTPURLResponse)?.statusCode == 200)

        var fromAlertmanager: [LabelSet: String] = [:]
        let complete = await waitUntilAsync(timeout: .seconds(10)) {
            guard let (data, _) = try? await URLSession.shared.data(from: alertmanager.baseURL.appendingPathComponent("api/v2/alerts")),
                  let alerts = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return false }
            fromAlertmanager = [:]
            for alert in alerts {
                if let labels = alert["labels"] as? [String: String], let fingerprint = alert["fingerprint"] as? String {
                    fromAlertmanager[LabelSet(labels)] = fingerprint
                }
            }
            return fromAlertmanager.count >= labelSets.count
        }
        #expect(complete, "Alertmanager returned \(fromAlertmanager.count) of \(labelSets.count) alerts")
        for labels in labelSets {
            #expect(fromAlertmanager[labels] == labels.fingerprint.description, "label set \(labels)")
        }
    }
}

func waitUntilAsync(timeout: Duration, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return false
}
