extension ConfigSection<AlerterConfig> {
    /// `ha:` — tuning of high availability (docs/ARCHITECTURE.md, High
    /// availability). Instances in durable mode with the same
    /// `state.jetstream.bucket_prefix` form one HA group without it.
    static var ha: Self {
        Self(reload: .restart, fields: [
            .key("instance", \.ha.instance, .string.checked { name in
                !name.isEmpty && name.utf8.count <= 64 && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
                    ? nil : "use 1 to 64 letters, digits, '-', '_' and '.'"
            }, doc: "this instance's name in the HA group (default: <hostname>-<pid>); unique per running process"),
            .key("lease_ttl", \.ha.leaseTTL, .duration(allowZero: false), doc: "how long a lease lasts without a renew: a crashed owner is taken over after it"),
            .key("renew_interval", \.ha.renewInterval, .duration(allowZero: false), doc: "how often the owner renews its lease"),
            .key("partitions", \.ha.partitions, .int(min: 1), doc: "partitions of the event load, one owner each (only 1 is built; see docs/ARCHITECTURE.md, Scale-out)"),
        ], combine: { config, entries, r, _ in
            let ha = config.ha
            if ha.leaseTTL < .seconds(2) {
                r.fail(entries.path("lease_ttl"), "must be at least 2s (a renew needs a round trip to the JetStream leader)", entries.nodes["lease_ttl"])
            }
            if ha.renewInterval * 3 > ha.leaseTTL {
                r.fail(entries.path("renew_interval"),
                       "must be at most a third of lease_ttl (\(ha.leaseTTL)), so a lease survives two lost renews", entries.nodes["renew_interval"])
            }
            if ha.partitions != 1 {
                r.fail(entries.path("partitions"), "only 1 partition is built so far (scale-out is designed in docs/ARCHITECTURE.md, Scale-out)",
                       entries.nodes["partitions"])
            }
        })
    }
}
