import AlertCore
import AlertIngest

extension ConfigSection<AlerterConfig> {
    /// `state:` — where alert state lives, and how long alerts are kept. The
    /// store is opened once, at start; the timeouts go to the engine on reload.
    static var state: Self {
        Self(fields: [
            .key("backend", \.state.backend, .oneOf("backend"), reload: .restart, doc: "memory (lost on restart) or jetstream (kept, shared by replicas)"),
            .key("max_active_alerts", \.state.maxActiveAlerts, .int(min: 1), reload: .restart, doc: "alerts held at most"),
            .custom("resolve_timeout_by_alert_type", doc: "per alert type (alertname) overrides of global.resolve_timeout") { config, node, path, r, _ in
                for (alertType, item) in r.mapping(node, path) {
                    if let timeout = r.duration(item, "\(path).\(alertType)", allowZero: false) {
                        config.engine.resolveTimeoutByAlertType[alertType] = timeout
                    }
                }
            },
            .key("resolved_retention", \.engine.resolvedRetention, .duration(), doc: "how long resolved alerts stay visible"),
            .section("jetstream", \.state, .jetStreamState, reload: .restart, doc: "the buckets of the jetstream backend"),
        ])
    }
}

extension ConfigSection<AlerterConfig.StateSection> {
    /// `state.jetstream:`
    static var jetStreamState: Self {
        Self(fields: [
            .key("bucket_prefix", \.jetstream.bucketPrefix, .string.checked { prefix in
                !prefix.isEmpty && prefix.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") } ? nil : "use letters, digits, '_' and '-' only"
            }, doc: "the buckets are <prefix>_alerts, _silences, _nflog and _rules"),
            .key("history", \.jetstream.bucket.history, .int(min: 1).map { min($0, 64) }, doc: "revisions kept per key (at most 64)"),
            .key("replicas", \.jetstream.bucket.replicas, .int(min: 1), doc: "the buckets' replicas"),
            .key("storage", \.jetstream.bucket.memoryStorage, ConfigParser<String>.string.map({ ["file": false, "memory": true][$0] }, otherwise: { _ in "storage is file or memory" }),
                 doc: "file or memory"),
            .section("outbox", \.outbox, .outbox, doc: "the durable notification outbox"),
        ])
    }
}

extension ConfigSection<AlerterConfig.OutboxSection> {
    /// `state.jetstream.outbox:` (docs/ARCHITECTURE.md, Durability).
    static var outbox: Self {
        Self(fields: [
            .key("enabled", \.enabled, .bool, doc: "false: notifications are queued in memory (lost on a crash)"),
            .key("ack_wait", \.ackWait, .duration(allowZero: false).checked {
                $0 < .seconds(3) ? "must be at least 3s (in-progress signals go out every third of it)" : nil
            }, doc: "how long a delivery may go without an ack or in-progress signal before another process gets it"),
            .key("max_deliver", \.maxDeliver, .int(min: 1), doc: "deliveries of one notification (restarts included) before it is dead-lettered"),
            .key("duplicate_window", \.duplicateWindow, .duration(allowZero: false), doc: "JetStream drops a re-published copy within this window"),
            .key("sent_log_ttl", \.sentLogTTL, .duration(allowZero: false), doc: "how long the sent log remembers a delivery"),
        ])
    }
}
