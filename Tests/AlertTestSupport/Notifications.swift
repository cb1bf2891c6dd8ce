public import AlertCore
public import Foundation

/// A notification as the engine would hand it to a receiver: the alerts are
/// made by a real `AlertStore` from events, so labels, fingerprints and times
/// are what production code produces.
///
/// - Parameters:
///   - firing: one event per firing alert.
///   - resolved: events fired and then resolved `resolvedAfter` later.
///   - groupBy: the label names of the group (values from the first alert).
public func makeNotification(
    receiver: String = "oncall",
    firing: [AlertEvent],
    resolved: [AlertEvent] = [],
    groupBy: [String] = ["alertname"],
    sendResolved: Bool = false,
    at time: Date = Date(timeIntervalSince1970: 1_800_000_000),
    resolvedAfter: TimeInterval = 90
) -> AlertCore.Notification {
    let store = AlertStore()
    var firingAlerts: [NotifiedAlert] = []
    var resolvedAlerts: [NotifiedAlert] = []
    for event in firing {
        guard case .fired(let alert) = store.apply(event, receivedAt: time) else { preconditionFailure("event did not fire: \(event)") }
        firingAlerts.append(NotifiedAlert(alert: alert))
    }
    for event in resolved {
        var resolution = event
        resolution.status = .resolved
        _ = store.apply(event, receivedAt: time)
        guard case .resolved(let alert) = store.apply(resolution, receivedAt: time.addingTimeInterval(resolvedAfter)) else {
            preconditionFailure("event did not resolve: \(event)")
        }
        resolvedAlerts.append(NotifiedAlert(alert: alert))
    }
    let labels = (firingAlerts + resolvedAlerts).first?.alert.labels ?? LabelSet()
    let groupLabels = LabelSet(groupBy.compactMap { name in labels[name].map { (name, $0) } })
    return AlertCore.Notification(
        receiver: receiver, groupKey: "{}:\(groupLabels)", groupLabels: groupLabels,
        firing: firingAlerts, resolved: resolvedAlerts, sendResolved: sendResolved, timestamp: time
    )
}
