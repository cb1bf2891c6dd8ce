public import Hummingbird

public import ServiceLifecycle

/// Builds the whole service: ingest and engine, SIGHUP reload, and HTTP —
/// ordered so that a graceful shutdown drains ingest first and stops HTTP
/// last, keeping /metrics scrapeable while the rest winds down.
public enum AlerterApplication {
    public static func services(runtime: AlerterRuntime) -> (group: [ServiceGroupConfiguration.ServiceConfiguration], http: Application<RouterResponder<BasicRequestContext>>) {
        let metrics = AlerterMetrics(runtime: runtime)
        let server = runtime.config.server
        let http = Application(
            router: APIRouter.build(runtime: runtime, metrics: metrics),
            configuration: .init(address: .hostname(server.host, port: server.port), serverName: "nats-alerter"),
            logger: runtime.logger
        )
        // ServiceGroup stops services in reverse order: ingest first, HTTP last.
        return ([.init(service: http), .init(service: ConfigReloadService(runtime: runtime)), .init(service: IngestService(runtime: runtime))], http)
    }
}
