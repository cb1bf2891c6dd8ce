public import Hummingbird

/// The request context of the HTTP API: Hummingbird's basic context, except
/// that values a handler returns are written by ``AlertmanagerJSONEncoder``,
/// so every JSON answer is encoded the one way Alertmanager clients expect
/// (docs/ARCHITECTURE.md, "Where to add").
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    public var responseEncoder: AlertmanagerJSONEncoder { AlertmanagerJSONEncoder() }
}
