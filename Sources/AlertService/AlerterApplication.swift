public import Hummingbird
import HummingbirdTLS

public import ServiceLifecycle

/// Builds the services of a started `Alerter`: the engine loop, SIGHUP
/// reload, and HTTP — ordered so that a graceful shutdown drains ingest
/// first and stops HTTP last, keeping /metrics scrapeable while the rest
/// winds down.
public enum AlerterApplication {
    public static func services(alerter: Alerter) throws -> (group: [ServiceGroupConfiguration.ServiceConfiguration], http: Application<RouterResponder<APIRequestContext>>) {
        let metrics = AlerterMetrics(alerter: alerter)
        let server = alerter.config.server
        let router = APIRouter.build(runtime: alerter, metrics: metrics)
        let configuration = ApplicationConfiguration(address: .hostname(server.host, port: server.port), serverName: "nats-alerter")
        let http: Application<RouterResponder<APIRequestContext>>
        if let tls = alerter.listenerTLS {
            http = Application(router: router, server: try .tls(tlsConfiguration: tls.configuration),
                               configuration: configuration, logger: alerter.logger)
        } else {
            http = Application(router: router, configuration: configuration, logger: alerter.logger)
        }
        // ServiceGroup stops services in reverse order: the engine loop first,
        // then the NATS control plane (answering while the loop drains), HTTP last.
        return ([.init(service: http), .init(service: ConfigReloadService(alerter: alerter)), .init(service: ControlPlane(alerter: alerter)),
                 .init(service: alerter.loop)], http)
    }
}
