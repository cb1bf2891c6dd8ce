public import AlertCore

/// How to reach NATS: the `nats` block of the config, minus subscriptions.
/// A value type with `Duration` fields (swift-kafka-client's convention).
public struct NATSConnectionConfiguration: Sendable, Equatable {
    /// TLS to the servers (`nats.tls`).
    public typealias TLS = TLSSettings

    public enum Authentication: Sendable, Equatable {
        case none
        case userPassword(user: String, password: String)
        case token(String)
        /// A `.creds` file (user JWT + NKey seed).
        case credentialsFile(String)
        /// An NKey user: its public key and the file holding its seed.
        case nkey(publicKey: String, seedFile: String)
    }

    public var servers: [String]
    /// Shown in the server's connection list (`nats server report connections`).
    public var name: String
    public var authentication: Authentication
    public var tls: TLS?
    /// -1 = reconnect forever (the default).
    public var maxReconnectAttempts: Int
    public var reconnectWait: Duration
    public var connectTimeout: Duration
    /// Keep retrying in the background when no server answers at start-up.
    public var retryOnFailedConnect: Bool
    /// Per-subscription buffer between the socket and the handler; past it,
    /// libnats drops messages and reports a slow consumer.
    public var pendingMessagesLimit: Int
    public var pendingBytesLimit: Int

    public init(
        servers: [String] = ["nats://127.0.0.1:4222"],
        name: String = "nats-alerter",
        authentication: Authentication = .none,
        tls: TLS? = nil,
        maxReconnectAttempts: Int = -1,
        reconnectWait: Duration = .seconds(2),
        connectTimeout: Duration = .seconds(2),
        retryOnFailedConnect: Bool = true,
        pendingMessagesLimit: Int = 512 * 1024,
        pendingBytesLimit: Int = 256 * 1024 * 1024
    ) {
        self.servers = servers
        self.name = name
        self.authentication = authentication
        self.tls = tls
        self.maxReconnectAttempts = maxReconnectAttempts
        self.reconnectWait = reconnectWait
        self.connectTimeout = connectTimeout
        self.retryOnFailedConnect = retryOnFailedConnect
        self.pendingMessagesLimit = pendingMessagesLimit
        self.pendingBytesLimit = pendingBytesLimit
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
