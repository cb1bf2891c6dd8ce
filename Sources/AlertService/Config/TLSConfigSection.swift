import AlertCore

extension ConfigSection<TLSSettings> {
    /// `nats.tls` and the receivers' `tls_config`: an outgoing TLS connection.
    static var tls: Self {
        Self(fields: [
            .key("ca_file", \.caFile, .readableFile, doc: "PEM file of the CAs that sign the server's certificate"),
            .key("cert_file", \.certFile, .readableFile, doc: "client certificate (PEM) for mutual TLS; goes with key_file"),
            .key("key_file", \.keyFile, .readableFile, doc: "the client certificate's key (PEM)"),
            .key("server_name", \.serverName, .string, doc: "the name expected in the server's certificate"),
            .key("insecure_skip_verify", \.insecureSkipVerify, .bool, doc: "skip verifying the server (tests only)"),
        ], combine: { tls, entries, r, _ in
            if (tls.certFile == nil) != (tls.keyFile == nil) { r.fail(entries.path, "cert_file and key_file go together") }
        })
    }
}
