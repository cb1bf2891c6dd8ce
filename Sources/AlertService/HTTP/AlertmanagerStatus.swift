import AlertCore
import Foundation
import Hummingbird

/// `GET /api/v2/status` (Alertmanager's `alertmanagerStatus`): the HA group
/// as Alertmanager's `cluster` (disabled in memory mode), a version naming
/// nats-alerter, the running configuration as Alertmanager YAML with
/// secrets as `<secret>`, and the start time as `uptime`.
struct AlertmanagerStatus: ResponseEncodable {
    /// Alertmanager's `clusterStatus`: this instance's name, the peers
    /// present in the HA group, and (nats-alerter's addition) the instance
    /// holding the lease (docs/ARCHITECTURE.md, High availability).
    struct Cluster: Encodable {
        struct Peer: Encodable {
            var name: String
            var address: String
        }

        var name: String?
        var status = "disabled"
        var peers: [Peer] = []
        var active: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(name, forKey: .name)
            try container.encode(status, forKey: .status)
            try container.encode(peers, forKey: .peers)
            // Only in an HA group: the memory-mode answer stays Alertmanager's "disabled" shape.
            if name != nil { try container.encode(active, forKey: .active) }
        }

        enum CodingKeys: String, CodingKey { case name, status, peers, active }

        static func highAvailability(_ coordinator: HACoordinator) async -> Cluster {
            let peers = await runBlocking("HA peers") { coordinator.peers() }
            return Cluster(name: coordinator.identity.instance, status: "ready", peers: peers.map { Peer(name: $0.name, address: $0.address) },
                           active: coordinator.holder)
        }
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
