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
        return await runtime.gettableAlerts(runtime.store.activeAlerts(), query: query)
    }

    /// Each aggregation group with its firing alerts that pass the query; a group left with none is not listed.
    func groups(_ request: Request, context: APIRequestContext) async throws -> [AlertGroup] {
        let query = try AlertQuery(request)
        var result: [AlertGroup] = []
        for group in await runtime.engine.groups {
            let alerts = group.fingerprints.compactMap { runtime.store.alert($0) }.filter(\.isFiring)
            let listed = await runtime.gettableAlerts(alerts, query: query)
            if listed.isEmpty { continue }
            if let receiver = query.receiver, !receiver.matches(group.receiver) { continue }
            result.append(AlertGroup(labels: group.labels.dictionary, receiver: Receiver(name: group.receiver), alerts: listed))
        }
        return result
    }

    func receivers(_ request: Request, context: APIRequestContext) async -> [Receiver] {
        await runtime.engine.configuration.receivers.keys.sorted().map(Receiver.init(name:))
    }
}
