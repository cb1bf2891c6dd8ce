import Hummingbird

/// The answer to a successful `POST /-/reload`: what of the new configuration
/// waits for a restart.
struct ReloadResponse: ResponseEncodable {
    var status = "reloaded"
    var notes: [String]
}
