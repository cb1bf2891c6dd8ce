import AlertCore
import AlertIngest
import AlertNotify
import Foundation
import Prometheus
import Synchronization

/// Every metric nats-alerter exports, registered in this one place with its
/// HELP text (swift-prometheus refuses a second registration of a name with
/// another type or help). Values come from the runtime's own counters at
/// scrape time: the hot path keeps its lock-free atomics, and counters here
/// advance by the difference since the last scrape.
public final class AlerterMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let alerter: Alerter
    private let exported = Mutex<[String: Int64]>([:])
    private let exportedSeconds = Mutex<[String: Double]>([:])
    private let knownAlertTypes = Mutex<Set<String>>([])
    /// (alertname, severity) pairs exported by `nats_alerter_alerts_active`,
    /// so a name that stopped firing goes back to 0 instead of keeping its last value.
    private let exportedActivePairs = Mutex<Set<[String]>>([])
    /// Alert types (names) given a series of their own: publishers choose
    /// them, so past `maxAlertTypeSeries` further names are folded into `other`.
    private let admittedAlertTypes = Mutex<Set<String>>([])
    static let maxAlertTypeSeries = 1000
    static let otherLabel = "other"

    /// The label value a metric uses for an alert type: itself while fewer
    /// than `maxAlertTypeSeries` types were seen, else `other` for new ones.
    func alertTypeLabel(_ name: String) -> String {
        admittedAlertTypes.withLock { admitted in
            if admitted.contains(name) { return name }
            guard admitted.count < Self.maxAlertTypeSeries, name != Self.otherLabel else { return Self.otherLabel }
            admitted.insert(name)
            return name
        }
    }

    /// A `severity` label value for the metrics: the known ones, else `other`
    /// (an event's own `labels` may carry any severity text).
    static func severityLabel(_ value: String) -> String {
        value.isEmpty || Severity(name: value) != nil ? value : otherLabel
    }

    static let version = "0.4.0"
    static let processingBuckets: [Double] = [0.000_001, 0.000_002, 0.000_005, 0.000_01, 0.000_02, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.01]

    public init(alerter: Alerter) {
        self.alerter = alerter
        registry.makeGauge(descriptor: Self.descriptor("nats_alerter_build_info", "Build information; always 1."),
                           labels: [("version", Self.version), ("swift", "6")]).set(1.0)
    }

    /// The Prometheus text exposition, current as of this call.
    public func scrape() async -> String {
        await refresh()
        return registry.emitToString()
    }

    static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    // MARK: Names and help, in one table

    enum Help {
        static let received = "Messages handed to ingest, by subscribed subject."
        static let decoded = "Events decoded and validated, by subscribed subject."
        static let rejected = "Events rejected, by subscribed subject and reason."
        static let duplicates = "Events for an alert already firing (deduplicated), by subscribed subject."
        static let resolvesOfUnknown = "RESOLVED events for an alert that was not firing, by subscribed subject."
        static let refused = "New alerts refused because state.max_active_alerts was reached."
        static let activeAlerts = "Firing alerts, by alertname and severity."
        static let triggered = "Alerts that started firing, by alert type (alertname)."
        static let alertActive = "1 while at least one alert of the type fires, else 0."
        static let suppressed = "Firing alerts muted at their group's last flush, by reason (silenced, inhibited)."
        static let silences = "Silences, by state."
        static let groups = "Aggregation groups."
        static let notifications = "Notifications delivered, by receiver and integration."
        static let notificationsFailed = "Notifications given up, by receiver, integration and reason."
        static let notificationRetries = "Delivery attempts that failed and were retried, by receiver and integration."
        static let queueDepth = "Notifications waiting in an integration's queue."
        static let dropped = "Notifications dropped because an integration's queue was full."
        static let adjusted = "Accepted events with a field out of range that was replaced: occurred_at_unix_ms before 1970 or past the receive time + nats.limits.max_clock_skew (the receive time is used), NaN/Inf current_value or threshold_value (carried as absent)."
        static let controlEventsPublished = "State-change events handed to NATS on <prefix>.events.… (nats.control)."
        static let controlEventFailures = "State-change events the NATS client refused to buffer (connection closed, buffer full); dropped, never retried."
        static let haActive = "1 while this instance owns the partition (holds its lease), 0 on a standby (docs/ARCHITECTURE.md, High availability)."
        static let haTakeovers = "Times this instance took the partition over from another instance since start."
        static let stateDropped = "State records dropped because they could never be written (too large for the server); the others were written."
        static let stateUnreadable = "State records in KV that could not be read at start-up (truncated, garbled, foreign) and were left out; the rest loaded."
        static let alertmanagerRejected = "Alerts Alertmanager refused on their own (found by splitting a refused batch) and dropped; the other alerts of the batch were kept."
        static let latency = "Time from a notification's first delivery attempt to its success, by integration."
        static let notificationsDeadLettered = "Notifications the durable outbox gave up on and sent to the dead-letter subject, by receiver, integration and reason."
        static let eventsDeadLettered = "Rejected events republished to the dead-letter subject, by reason."
        static let outboxPending = "Notifications stored in the durable outbox and not yet delivered (all integrations)."
        static let natsConnected = "1 while connected to NATS, else 0."
        static let reconnects = "Reconnections to NATS."
        static let slowConsumer = "Messages libnats dropped because ingest fell behind (slow consumer), by subscribed subject."
        static let pending = "Messages received from NATS and not yet handled, by subscribed subject."
        static let processing = "Time to handle one event on the NATS delivery thread (sampled)."
        static let reloadSuccess = "Whether the last configuration (re)load succeeded."
        static let reloadTime = "When the last configuration (re)load succeeded, in seconds since the epoch."
        static let ready = "1 while the service is ready (NATS connected, state loaded)."
        static let cpu = "CPU time the process used, in seconds."
        static let memory = "Resident memory of the process, in bytes."
        static let start = "When the process started, in seconds since the epoch."
        static let ruleSeries = "Series an event-stream rule keeps (one per group_by value set), by rule."
        static let ruleSamples = "Metric samples evaluated by the event-stream rules."
        static let ruleSeriesRefused = "New rule series refused because a rule reached its series limit."
    }

    // MARK: Refresh

    private func counter(_ name: String, _ labels: [(String, String)], _ help: String, to value: Int) {
        let key = name + labels.map { "\u{0}\($0.0)=\($0.1)" }.joined()
        let delta: Int64 = exported.withLock { exported in
            let previous = exported[key] ?? 0
            exported[key] = Int64(value)
            return Int64(value) - previous
        }
        let counter = registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
        if delta > 0 { counter.increment(by: delta) }
    }

    private func counter(_ name: String, _ help: String, toSeconds value: Double) {
        let delta: Double = exportedSeconds.withLock { exported in
            defer { exported[name] = max(exported[name] ?? 0, value) }
            return value - (exported[name] ?? 0)
        }
        let counter = registry.makeCounter(descriptor: Self.descriptor(name, help), labels: [])
        if delta > 0 { counter.increment(by: delta) }
    }

    private func gauge(_ name: String, _ labels: [(String, String)], _ help: String, _ value: Double) {
        registry.makeGauge(descriptor: Self.descriptor(name, help), labels: labels).set(value)
    }

    func refresh() async {
        let now = alerter.clock.now()
        // Ingest, per subscribed subject.
        for subscribed in alerter.ingest?.subscriptions ?? [] {
            let counters = subscribed.counters
            let labels = [("subject", subscribed.subject)]
            counter("nats_alerter_events_received_total", labels, Help.received, to: counters.received.load(ordering: .relaxed))
            counter("nats_alerter_events_decoded_total", labels, Help.decoded, to: counters.decoded.load(ordering: .relaxed))
            counter("nats_alerter_events_duplicate_total", labels, Help.duplicates, to: counters.duplicates.load(ordering: .relaxed))
            counter("nats_alerter_events_resolve_unknown_total", labels, Help.resolvesOfUnknown, to: counters.resolvesOfUnknown.load(ordering: .relaxed))
            counter("nats_alerter_alerts_refused_total", labels, Help.refused, to: counters.refusedAtCapacity.load(ordering: .relaxed))
            for reason in RejectReason.allCases {
                counter("nats_alerter_events_rejected_total", labels + [("reason", reason.rawValue)], Help.rejected, to: counters.rejected(reason))
            }
            for (field, count) in counters.adjustedByField {
                counter("nats_alerter_events_adjusted_total", labels + [("field", field)], Help.adjusted, to: count)
            }
            counter("nats_alerter_nats_slow_consumer_dropped_total", labels, Help.slowConsumer, to: Int(subscribed.subscription.droppedCount))
            gauge("nats_alerter_nats_pending_messages", labels, Help.pending, Double(subscribed.subscription.pendingCount))
            let processing = registry.makeValueHistogram(descriptor: Self.descriptor("nats_alerter_event_processing_seconds", Help.processing),
                                                         labels: labels, buckets: Self.processingBuckets)
            for sample in counters.drainProcessingSamples() { processing.record(sample) }
        }
        counter("nats_alerter_state_records_dropped_total", [], Help.stateDropped, to: alerter.stateStore.droppedRecords)
        if let coordinator = alerter.ownership?.coordinator {
            gauge("nats_alerter_ha_active", [("partition", String(coordinator.partition))], Help.haActive, coordinator.isActive ? 1 : 0)
            counter("nats_alerter_ha_takeovers_total", [], Help.haTakeovers, to: coordinator.takeovers)
        }
        counter("nats_alerter_state_records_unreadable_total", [], Help.stateUnreadable, to: alerter.stateStore.unreadableRecords)
        if let events = alerter.stateEvents {
            counter("nats_alerter_control_events_published_total", [], Help.controlEventsPublished, to: events.published)
            counter("nats_alerter_control_event_publish_failures_total", [], Help.controlEventFailures, to: events.failures)
        }
        // Alerts: from counts the store and the engine keep up to date as
        // alerts start, end and are flushed, so a scrape visits no alert and
        // never waits for the engine (docs/ARCHITECTURE.md, Metrics).
        let activeByType = alerter.store.activeCountsByType()
        let gauges = alerter.engine.gauges
        let firingTypes = Set(activeByType.keys.map { alertTypeLabel($0.alertname) })
        var triggered: [String: Int] = [:]
        for (type, count) in alerter.loop.alertsTriggeredByType { triggered[alertTypeLabel(type), default: 0] += count }
        let previousTypes = knownAlertTypes.withLock { known in
            defer { known.formUnion(firingTypes); known.formUnion(triggered.keys) }
            return known
        }
        var active: [[String]: Int] = [:]
        for (type, count) in activeByType {
            active[[alertTypeLabel(type.alertname), Self.severityLabel(type.severity)], default: 0] += count
        }
        let previousPairs = exportedActivePairs.withLock { exported in
            defer { exported.formUnion(active.keys) }
            return exported
        }
        for pair in previousPairs.union(active.keys) {
            gauge("nats_alerter_alerts_active", [("alertname", pair[0]), ("severity", pair[1])], Help.activeAlerts, Double(active[pair] ?? 0))
        }
        for type in previousTypes.union(firingTypes).union(triggered.keys) {
            gauge("alert_active", [("alert_type", type)], Help.alertActive, firingTypes.contains(type) ? 1 : 0)
        }
        for (type, count) in triggered {
            counter("alerts_triggered_total", [("alert_type", type)], Help.triggered, to: count)
        }
        gauge("nats_alerter_alerts_suppressed", [("reason", "silenced")], Help.suppressed, Double(gauges.silencedFiring.load(ordering: .relaxed)))
        gauge("nats_alerter_alerts_suppressed", [("reason", "inhibited")], Help.suppressed, Double(gauges.inhibitedFiring.load(ordering: .relaxed)))
        for (state, count) in alerter.silencer.count(at: now) {
            gauge("nats_alerter_silences", [("state", state.rawValue)], Help.silences, Double(count))
        }
        gauge("nats_alerter_aggregation_groups", [], Help.groups, Double(gauges.groups.load(ordering: .relaxed)))
        // Notifications.
        let statistics = alerter.notifiers.statistics
        for (key, counts) in statistics.counts {
            let labels = [("receiver", key.receiver), ("integration", key.integration)]
            counter("nats_alerter_notifications_total", labels, Help.notifications, to: counts.delivered)
            counter("nats_alerter_notification_retries_total", labels, Help.notificationRetries, to: counts.retries)
            counter("nats_alerter_notifications_dropped_total", labels, Help.dropped, to: counts.dropped)
            if key.integration == "alertmanager" {
                counter("nats_alerter_alertmanager_alerts_rejected_total", [("receiver", key.receiver)], Help.alertmanagerRejected, to: counts.alertsRejected)
            }
            gauge("nats_alerter_notification_queue_depth", labels, Help.queueDepth, Double(max(0, counts.queued)))
            for (reason, count) in counts.failed {
                counter("nats_alerter_notifications_failed_total", labels + [("reason", reason)], Help.notificationsFailed, to: count)
            }
        }
        for (integration, seconds) in statistics.drainLatencies() {
            registry.makeValueHistogram(descriptor: Self.descriptor("nats_alerter_notification_latency_seconds", Help.latency),
                                        labels: [("integration", integration)], buckets: DeliveryStatistics.latencyBuckets).record(seconds)
        }
        // Event-stream rules.
        if !alerter.rules.isEmpty {
            for (rule, count) in alerter.rules.seriesCounts() {
                gauge("nats_alerter_rule_series", [("rule", rule)], Help.ruleSeries, Double(count))
            }
            counter("nats_alerter_rule_samples_evaluated_total", [], Help.ruleSamples, to: alerter.rules.samplesEvaluated.load(ordering: .relaxed))
            counter("nats_alerter_rule_series_refused_total", [], Help.ruleSeriesRefused, to: alerter.rules.seriesRefused.load(ordering: .relaxed))
        }
        for (reason, count) in alerter.ingest?.deadLetteredEvents ?? [:] {
            counter("nats_alerter_events_dead_lettered_total", [("reason", reason)], Help.eventsDeadLettered, to: count)
        }
        if let outbox = alerter.outbox {
            for (key, count) in outbox.deadLetters.snapshot {
                counter("nats_alerter_notifications_dead_lettered_total",
                        [("receiver", key.receiver), ("integration", key.integration), ("reason", key.reason)], Help.notificationsDeadLettered, to: count)
            }
            if let pending = await runBlocking("outbox message count", { outbox.pendingCount() }) {
                gauge("nats_alerter_outbox_pending", [], Help.outboxPending, Double(pending))
            }
        }
        // NATS, readiness, reload, process.
        let connection = alerter.ingest?.connection
        gauge("nats_alerter_nats_connected", [], Help.natsConnected, connection?.state == .connected ? 1 : 0)
        counter("nats_alerter_nats_reconnects_total", [], Help.reconnects, to: connection?.counters.reconnects ?? 0)
        gauge("nats_alerter_ready", [], Help.ready, alerter.readiness.ready ? 1 : 0)
        if let reload = alerter.lastReload {
            gauge("nats_alerter_config_last_reload_successful", [], Help.reloadSuccess, reload.success ? 1 : 0)
            if reload.success {
                gauge("nats_alerter_config_last_reload_success_timestamp_seconds", [], Help.reloadTime, reload.at.timeIntervalSince1970)
            }
        }
        let process = ProcessStatistics.read()
        counter("process_cpu_seconds_total", Help.cpu, toSeconds: process.cpuSeconds)
        gauge("process_resident_memory_bytes", [], Help.memory, process.residentBytes)
        gauge("process_start_time_seconds", [], Help.start, alerter.startedAt.timeIntervalSince1970)
    }
}

/// CPU and memory of this process, from /proc (Linux).
enum ProcessStatistics {
    static func read() -> (cpuSeconds: Double, residentBytes: Double) {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        var cpu = 0.0, resident = 0.0
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After the command: state(0) … utime(11) stime(12).
            if fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) {
                cpu = (user + system) / ticks
            }
        }
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = statm.split(separator: " ")
            if fields.count > 1, let pages = Double(fields[1]) { resident = pages * page }
        }
        return (cpu, resident)
    }
}
