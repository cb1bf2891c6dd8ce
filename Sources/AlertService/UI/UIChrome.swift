/// What every UI page shows around its content: the navigation (with the
/// current page marked) and, when `server.api_token_file` is set, whether this
/// browser may write (the session cookie) or is asked for the token.
struct UIChrome {
    struct Link {
        var title: String
        var href: String
        var current: Bool
    }

    var title: String
    var links: [Link]
    /// The token is configured and this browser's cookie does not carry it: show the token form.
    var tokenNeeded: Bool
    /// The token is configured and this browser's cookie carries it.
    var tokenAccepted: Bool
    var version = AlerterMetrics.version

    static let pages: [(title: String, href: String)] = [
        ("Alerts", "/"), ("Silences", "/ui/silences"), ("Notifications", "/ui/notifications"), ("Status", "/ui/status"),
    ]

    init(title: String, path: String, session: UISession.State) {
        self.title = title
        links = Self.pages.map { Link(title: $0.title, href: $0.href, current: $0.href == path) }
        tokenNeeded = session == .tokenNeeded
        tokenAccepted = session == .authorized
    }
}
