public import Hummingbird
import HummingbirdTLS

public import ServiceLifecycle

/// Builds the whole service: ingest and engine, SIGHUP reload, and HTTP —
/// ordered so that a graceful shutdown drains ingest first and stops HTTP
/// last, keeping /metrics scrapeable while the rest winds down.
public enum AlerterApplication {
    /// - Throws: when `server.tls_server_config`'s files cannot be read as a certificate and key.
    public static func services(runtime: AlerterRuntime) throws -> (group: [ServiceGroupConfiguration.ServiceConfiguration], http: Application<RouterResponder<APIRequestContext>>) {
        let metrics = AlerterMetrics(runtime: runtime)
        let server = runtime.config.server
        let router = APIRouter.build(runtime: runtime, metrics: metrics)
        let configuration = ApplicationConfiguration(address: .hostname(server.host, port: server.port), serverName: "nats-alerter")
        let http: Application<RouterResponder<APIRequestContext>>
        if let files = server.tls {
            let tls = try ListenerTLS(files: files)
            runtime.setListenerTLS(tls)
            http = Application(router: router, server: try .tls(tlsConfiguration: tls.configuration),
                               configuration: configuration, logger: runtime.logger)
        } else {
            http = Application(router: router, configuration: configuration, logger: runtime.logger)
        }
        // ServiceGroup stops services in reverse order: ingest first, HTTP last.
        return ([.init(service: http), .init(service: ConfigReloadService(runtime: runtime)), .init(service: IngestService(runtime: runtime))], http)
    }
}
