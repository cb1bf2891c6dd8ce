import Hummingbird

/// A receiver as Alertmanager's API names it (its `receiver` object): only
/// the name, in `GET /api/v2/receivers`, an alert's `receivers` and a group's
/// `receiver`.
struct Receiver: ResponseEncodable {
    var name: String
}
