import AlertCore
import Hummingbird

/// Alertmanager's read-only alert endpoints under `api/v2`: `alerts`,
/// `alerts/groups` and `receivers`, for amtool and dashboards.
/// Thread-safe: a value over the runtime, which is `Sendable`; group and mute
/// state come from the engine actor.
struct AlertRoutes {
    let runtime: Alerter

    var collection: RouteCollection<APIRequestContext> {
        let routes = RouteCollection(context: APIRequestContext.self)
        routes.get("alerts", use: alerts)
        routes.get("alerts/groups", use: groups)
        routes.get("receivers", use: receivers)
        return routes
    }

    func alerts(_ request: Request, context: APIRequestContext) async throws -> [GettableAlert] {
        let query = try AlertQuery(request)
        return await gettableAlerts(runtime.store.activeAlerts(), query: query)
    }

    /// Each aggregation group with its firing alerts that pass the query; a group left with none is not listed.
    func groups(_ request: Request, context: APIRequestContext) async throws -> [AlertGroup] {
        let query = try AlertQuery(request)
        var result: [AlertGroup] = []
        for group in await runtime.engine.groups {
            let alerts = group.fingerprints.compactMap { runtime.store.alert($0) }.filter(\.isFiring)
            let listed = await gettableAlerts(alerts, query: query)
            if listed.isEmpty { continue }
            if let receiver = query.receiver, !receiver.matches(group.receiver) { continue }
            result.append(AlertGroup(labels: group.labels.dictionary, receiver: Receiver(name: group.receiver), alerts: listed))
        }
        return result
    }

    func receivers(_ request: Request, context: APIRequestContext) async -> [Receiver] {
        await runtime.engine.configuration.receivers.keys.sorted().map(Receiver.init(name:))
    }

    /// `alerts` that pass the query's filter, state flags and receiver, with their mute state at the clock's now.
    func gettableAlerts(_ alerts: [Alert], query: AlertQuery) async -> [GettableAlert] {
        let now = runtime.clock.now()
        let candidates = alerts.filter { alert in query.filter.allSatisfy { $0.matches(alert.labels) } }
        let status = await runtime.engine.status(of: candidates, at: now)
        let configuration = await runtime.engine.configuration
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
