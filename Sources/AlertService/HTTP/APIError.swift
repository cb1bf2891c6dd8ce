import AlertCore
import Hummingbird

/// An API error: the status and a message that says what is wrong
/// (sent as a JSON string, as Alertmanager does).
struct APIError: Error, HTTPResponseError {
    let status: HTTPResponse.Status
    let message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    /// A silence the silencer refused: 404 for an unknown id, 503 after the
    /// final state write at shutdown, 400 for anything wrong with the silence.
    init(_ error: SilenceError) {
        let status: HTTPResponse.Status = switch error.kind {
        case .notFound: .notFound
        case .unavailable: .serviceUnavailable
        case .invalid, .alreadyExpired: .badRequest
        }
        self.init(status, error.description)
    }

    var headers: HTTPFields { [.contentType: "application/json"] }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        try AlertmanagerJSONEncoder.response(message, status: status)
    }
}
