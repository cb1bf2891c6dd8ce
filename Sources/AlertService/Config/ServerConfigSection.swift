import Logging

extension ConfigSection<AlerterConfig> {
    /// `server:` — the HTTP listener, bound once at start (the TLS files'
    /// contents are re-read on reload; their paths are not).
    static var server: Self {
        Self(reload: .restart, fields: [
            .key("listen_address", \.server.listenAddress, .string.checked { text in
                let parts = text.split(separator: ":", omittingEmptySubsequences: false)
                return parts.count < 2 || Int(parts.last!).map({ !(0...65535).contains($0) }) ?? true
                    ? "\"\(text)\" is not host:port (e.g. 127.0.0.1:9094, 0.0.0.0:9094)" : nil
            }, doc: "host:port of the HTTP API and /metrics"),
            .key("api_token_file", \.server.apiTokenFile, ConfigParser<String> { node, path, r, context in
                guard let file = r.string(node, path).map({ ConfigLoader.resolve($0, base: context.baseDirectory) }) else { return nil }
                if ConfigLoader.readSecretFile(file, path: path, base: context.baseDirectory, &r) == "" { r.fail(path, "the token file is empty", node) }
                return file
            }, doc: "mutating endpoints (silences, reload) need Authorization: Bearer <the file's token>"),
            .key("max_request_body_bytes", \.server.maxRequestBodyBytes, .int(min: 1024), doc: "largest accepted request body"),
            .key("allowed_origins", \.server.allowedOrigins, .strings.eachChecked(MutationRules.originProblem).map { $0.map(MutationRules.normalizedOrigin) },
                 doc: "browser origins (scheme://host[:port]) besides the service's own that may call mutating endpoints"),
            .key("allowed_hosts", \.server.allowedHosts, .strings.eachChecked { host in
                host.isEmpty || host.contains(where: { $0.isWhitespace || $0 == "/" }) ? "\"\(host)\" is not a host name with an optional :port" : nil
            }.map { $0.map { $0.lowercased() } }, doc: "Host values mutating requests may carry; empty: the listen address (and loopback names), any on 0.0.0.0"),
            .section("limits", \.server.limits, .apiLimits, doc: "caps on what the API stores"),
            .section("tls_server_config", \.server.tls, .listenerTLS, from: .init(certFile: "", keyFile: ""), doc: "serve HTTPS with these files (their contents re-read on reload)"),
        ])
    }

    /// `log:` — read once, when logging is bootstrapped at start.
    static var log: Self {
        Self(reload: .restart, fields: [
            .key("level", \.log.level, .oneOf("level") { Logger.Level(rawValue: $0.lowercased()) }, doc: "trace, debug, info, notice, warning, error or critical"),
            .key("format", \.log.format, .oneOf("format"), doc: "json (one object per line) or text"),
        ])
    }
}

extension ConfigSection<AlerterConfig.APILimits> {
    /// `server.limits:` — named after Alertmanager's `--silences.*` flags; 0: no cap.
    static var apiLimits: Self {
        Self(fields: [
            .key("max_silences", \.maxSilences, .int(min: 0), doc: "silences held, expired ones included (as Alertmanager counts them)"),
            .key("max_silence_size_bytes", \.maxSilenceSizeBytes, .int(min: 0), doc: "bytes of one silence: id, matchers, createdBy, comment"),
            .key("max_matchers_per_silence", \.maxMatchersPerSilence, .int(min: 0), doc: "matchers in one silence"),
            .key("max_comment_bytes", \.maxCommentBytes, .int(min: 0), doc: "bytes of a silence's comment"),
        ])
    }
}

extension ConfigSection<AlerterConfig.ListenerTLSFiles> {
    /// `server.tls_server_config:` — the listener's certificate and key (PEM).
    static var listenerTLS: Self {
        Self(fields: [
            .key("cert_file", \.certFile, .readableFile, doc: "the certificate chain (PEM)"),
            .key("key_file", \.keyFile, .readableFile, doc: "its private key (PEM)"),
        ], combine: { files, entries, r, _ in
            if files.certFile.isEmpty || files.keyFile.isEmpty {
                r.fail(entries.path, "cert_file and key_file are both required", entries.node)
            } else if let problem = ListenerTLS.problem(with: files) {
                r.fail(entries.path, problem, entries.node)
            }
        })
    }
}
