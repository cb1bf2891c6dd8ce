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

    var headers: HTTPFields { [.contentType: "application/json"] }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        APIJSON.response(message, status: status)
    }
}
