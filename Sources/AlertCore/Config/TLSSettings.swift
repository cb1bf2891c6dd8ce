/// TLS settings of an outgoing connection: to NATS (`nats.tls`) or to a
/// receiver (Alertmanager's `tls_config`). One type, read by one config reader.
public struct TLSSettings: Sendable, Equatable {
    /// PEM file of the CAs that sign the server's certificate.
    public var caFile: String?
    /// Client certificate and key (PEM) for mutual TLS.
    public var certFile: String?
    public var keyFile: String?
    /// The name expected in the server's certificate, when it differs from the host.
    public var serverName: String?
    /// Skip verifying the server (tests only).
    public var insecureSkipVerify: Bool

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, serverName: String? = nil, insecureSkipVerify: Bool = false) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.insecureSkipVerify = insecureSkipVerify
    }
}
