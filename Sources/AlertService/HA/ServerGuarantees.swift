import AlertCore
import AlertIngest
import Logging

/// What the connected nats-server version means for high availability
/// (docs/ARCHITECTURE.md, High availability; the README's guarantees table).
enum ServerGuarantees {
    /// nats-server fixed revision-checked updates of replicated KV buckets
    /// (two writers could both win) in 2.9.21.
    static let checkedUpdateFixed = NATSServerVersion(major: 2, minor: 9, patch: 21)
    /// Conditional publish on another subject's last sequence (a fence header) arrives in 2.11.
    static let fenceHeader = NATSServerVersion(major: 2, minor: 11, patch: 0)

    static func describe(_ version: NATSServerVersion?) -> String {
        guard let version else {
            return "server version unknown: the lease is fenced by the create-only commit log, which every JetStream server supports"
        }
        if version < checkedUpdateFixed {
            return "nats-server \(version): a revision-checked KV update on a replicated bucket can let two writers win (fixed in 2.9.21), so the lease renew is not relied on for safety; the create-only commit log fences every earlier owner"
        }
        if version < fenceHeader {
            return "nats-server \(version): revision-checked KV updates are sound; the create-only commit log fences every earlier owner"
        }
        return "nats-server \(version): revision-checked KV updates are sound; the create-only commit log fences every earlier owner (the 2.11 fence header is not used yet)"
    }

    /// Reads the server version and logs what it guarantees, once at start.
    static func log(connection: NATSConnection, logger: Logger) async {
        let version = await runBlocking("NATS server version") { connection.serverVersion() }
        logger.notice("HA: server guarantees", metadata: [
            "server_version": .string(version?.description ?? "unknown"), "guarantee": .string(describe(version)),
        ])
    }
}
