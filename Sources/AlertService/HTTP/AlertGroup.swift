import Hummingbird

/// An aggregation group as `GET /api/v2/alerts/groups` lists it
/// (Alertmanager's `alertGroup`): its group-by labels, its receiver and its
/// firing alerts that pass the query.
struct AlertGroup: ResponseEncodable {
    var labels: [String: String]
    var receiver: Receiver
    var alerts: [GettableAlert]
}
