import AlertCore
@testable import AlertService
import Foundation
import Testing

/// Labels of the per-alert-type metrics come from publishers: they must
/// neither stick at a stale value nor grow without bound.
@Suite("Metrics: alert-type series")
struct MetricsLabelTests {
    func lines(_ scrape: String, _ prefix: String) -> [String] {
        scrape.split(separator: "\n").map(String.init).filter { $0.hasPrefix(prefix) }
    }

    @Test("nats_alerter_alerts_active returns to 0 for a name that stopped firing")
    func backToZero() async throws {
        let runtime = try makeRuntime()
        let metrics = AlerterMetrics(alerter: runtime)
        await fire(runtime, AlertEvent(alertType: "disk_full", severity: .critical, source: "a"))
        #expect(lines(await metrics.scrape(), "nats_alerter_alerts_active{").contains(#"nats_alerter_alerts_active{alertname="disk_full",severity="critical"} 1.0"#))
        _ = runtime.store.apply(AlertEvent(alertType: "disk_full", severity: .critical, status: .resolved, source: "a"), receivedAt: Date())
        #expect(lines(await metrics.scrape(), "nats_alerter_alerts_active{").contains(#"nats_alerter_alerts_active{alertname="disk_full",severity="critical"} 0.0"#))
    }

    @Test("past 1,000 alert types, further names are counted under other; unknown severities too")
    func boundedCardinality() async throws {
        let runtime = try makeRuntime()
        let metrics = AlerterMetrics(alerter: runtime)
        var transitions: [AlertTransition] = []
        for index in 0..<(AlerterMetrics.maxAlertTypeSeries + 50) {
            transitions.append(runtime.store.apply(AlertEvent(alertType: "type_\(index)", severity: .warning), receivedAt: Date()))
        }
        transitions.append(runtime.store.apply(AlertEvent(alertType: "type_0", labels: ["severity": "whatever-\(UUID())"]), receivedAt: Date()))
        runtime.loop.recordTriggered(transitions)
        let scrape = await metrics.scrape()
        let active = lines(scrape, "nats_alerter_alerts_active{")
        let names = Set(active.compactMap { $0.split(separator: "\"").dropFirst().first.map(String.init) })
        #expect(names.count == AlerterMetrics.maxAlertTypeSeries + 1)
        #expect(names.contains("other"))
        #expect(active.contains(#"nats_alerter_alerts_active{alertname="other",severity="warning"} 50.0"#))
        #expect(active.contains(#"nats_alerter_alerts_active{alertname="type_0",severity="other"} 1.0"#))
        #expect(lines(scrape, "alerts_triggered_total{").count == AlerterMetrics.maxAlertTypeSeries + 1)
        #expect(lines(scrape, "alert_active{").count == AlerterMetrics.maxAlertTypeSeries + 1)
    }
}
