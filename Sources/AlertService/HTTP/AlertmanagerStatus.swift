import Foundation
import Hummingbird

/// `GET /api/v2/status` (Alertmanager's `alertmanagerStatus`): no cluster, a
/// version naming nats-alerter, the running configuration as Alertmanager
/// YAML with secrets as `<secret>`, and the start time as `uptime`.
struct AlertmanagerStatus: ResponseEncodable {
    struct Cluster: Encodable {
        var status = "disabled"
        /// Always empty: nats-alerter does not cluster.
        var peers: [String] = []
    }

    struct VersionInfo: Encodable {
        var branch = "main"
        var buildDate = ""
        var buildUser = ""
        var goVersion = "swift-6"
        var revision = ""
        var version = "nats-alerter-\(AlerterMetrics.version)"
    }

    struct Config: Encodable {
        var original: String
    }

    var cluster = Cluster()
    var versionInfo = VersionInfo()
    var config: Config
    var uptime: String

    init(config: AlerterConfig, startedAt: Date) {
        self.config = Config(original: AlertmanagerConfigExport.yaml(of: config))
        uptime = APIJSON.timestamp(startedAt)
    }
}
