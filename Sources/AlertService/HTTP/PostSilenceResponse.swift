import Hummingbird

/// The answer to `POST /api/v2/silences`: the id of the silence created, or
/// of the one updated in place (Alertmanager's `postSilences` 200 body).
struct PostSilenceResponse: ResponseEncodable {
    var silenceID: String
}
