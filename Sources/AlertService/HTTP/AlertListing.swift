import AlertCore

/// Alerts as the API lists them, shared by the HTTP routes and the NATS
/// request-reply API (docs/ARCHITECTURE.md, Control plane), so both answer
/// with the same JSON for the same state.
extension Alerter {
    /// `alerts` that pass the query's filter, state flags and receiver, with their mute state at the clock's now.
    func gettableAlerts(_ alerts: [Alert], query: AlertQuery) async -> [GettableAlert] {
        let now = clock.now()
        let candidates = alerts.filter { alert in query.filter.allSatisfy { $0.matches(alert.labels) } }
        let status = await engine.status(of: candidates, at: now)
        let configuration = await engine.configuration
        return candidates.compactMap { alert in
            guard let entry = status[alert.fingerprint] else { return nil }
            let silenced = !entry.silencedBy.isEmpty, inhibited = !entry.inhibitedBy.isEmpty
            if !query.active && !silenced && !inhibited { return nil }
            if !query.silenced && silenced { return nil }
            if !query.inhibited && inhibited { return nil }
            if let receiver = query.receiver, !entry.receivers.contains(where: { receiver.matches($0) }) { return nil }
            let endsAt = alert.lastSeen.addingTimeInterval(configuration.resolveTimeout(for: alert).seconds)
            return GettableAlert(alert, receivers: entry.receivers, silencedBy: entry.silencedBy, inhibitedBy: entry.inhibitedBy, endsAt: endsAt)
        }
    }
}
