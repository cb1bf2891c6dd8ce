import AlertCore
import AlertIngest
import Foundation
import Yams

extension ConfigSection<AlerterConfig> {
    /// `nats:` — how to reach NATS and what to subscribe to. The connection
    /// and subscriptions are made once, at start.
    static var nats: Self {
        Self(reload: .restart, fields: [
            .key("servers", \.nats.connection.servers, .strings.eachChecked(ConfigLoader.validateServerURL)
                .checked(line: false) { $0.isEmpty ? "at least one server URL is needed" : nil }, doc: "NATS server URLs (nats:// or tls://)"),
            .key("name", \.nats.connection.name, .string, doc: "the connection's name in the server's connection list"),
            .combined("user", into: \.nats.connection.authentication, doc: "user name; goes with password"),
            .combined("password", into: \.nats.connection.authentication, doc: "the user's password"),
            .combined("password_file", into: \.nats.connection.authentication, doc: "a file holding the password"),
            .combined("token", into: \.nats.connection.authentication, doc: "token authentication"),
            .combined("token_file", into: \.nats.connection.authentication, doc: "a file holding the token"),
            .combined("credentials_file", into: \.nats.connection.authentication, doc: "a .creds file (user JWT and NKey seed)"),
            .combined("nkey", into: \.nats.connection.authentication, doc: "an NKey user's public key; goes with nkey_seed_file"),
            .combined("nkey_seed_file", into: \.nats.connection.authentication, doc: "the file holding the NKey seed"),
            .section("tls", \.nats.connection.tls, .tls, from: TLSSettings(), doc: "TLS to the servers"),
            .key("connect_timeout", \.nats.connection.connectTimeout, .duration(allowZero: false), doc: "how long one connection attempt may take"),
            .section("reconnect", \.nats.connection, .reconnect, doc: "how often and how fast to reconnect"),
            .key("subjects", \.nats.subjects, .strings.eachChecked { ConfigLoader.validateSubject($0, wildcards: true) },
                 doc: "subjects carrying events; NATS wildcards allowed"),
            .key("queue_group", \.nats.queueGroup, .string.checked(line: false) {
                $0.isEmpty || $0.contains(where: \.isWhitespace) ? "a queue group name must be non-empty and have no spaces" : nil
            }, doc: "replicas in one queue group share the subjects' messages"),
            .section("pending_limits", \.nats.connection, .pendingLimits, doc: "the subscription's buffer before libnats drops messages"),
            .section("limits", \.nats.limits, .eventLimits, doc: "caps on what one event may carry"),
            .section("jetstream", \.nats.jetstream, .jetStream, from: .init(), doc: "consume through a stream with a durable consumer"),
            .section("control", \.nats.control, .control, doc: "the request-reply API, state-change events and $SRV discovery over NATS"),
        ], combine: { config, entries, r, context in
            config.nats.connection.authentication = authentication(entries, &r, context)
            if config.nats.subjects.isEmpty {
                r.fail("nats.subjects", "at least one subject to subscribe to is needed (e.g. \"system.error.>\")")
            }
            let control = config.nats.control
            if control.enabled, let pattern = config.nats.subjects.first(where: { SubjectPattern($0).matches("\(control.prefix).events.alert.firing") }) {
                r.fail("nats.control.prefix", "\"\(control.prefix).events.…\" is captured by nats.subjects \"\(pattern)\": state-change events would be read as alert events")
            }
            guard let jetstream = config.nats.jetstream else { return }
            if config.nats.queueGroup != nil {
                r.fail("nats.queue_group", "not used with nats.jetstream: instances sharing state.jetstream.bucket_prefix form an HA group instead, one owner consuming")
            }
            let captured = jetstream.stream.subjects.isEmpty ? config.nats.subjects : jetstream.stream.subjects
            if let subject = jetstream.deadLetterSubject, captured.contains(where: { SubjectPattern($0).matches(subject) }) {
                let node = entries.nodes["jetstream"]?.mapping?.first { $0.key.string == "dead_letter_subject" }?.value
                r.fail("nats.jetstream.dead_letter_subject", "\"\(subject)\" is captured by the events stream: dead letters would be read again", node)
            }
        })
    }

    /// At most one method; a password or token may come from its `_file` twin.
    private static func authentication(_ entries: ConfigEntries, _ r: inout YAMLReader, _ context: ConfigContext) -> NATSConnectionConfiguration.Authentication {
        func secret(_ key: String) -> String? {
            let inline = entries.string(key, &r)
            let fromFile = entries.string("\(key)_file", &r).flatMap {
                ConfigLoader.readSecretFile($0, path: entries.path("\(key)_file"), base: context.baseDirectory, &r)
            }
            if inline != nil, entries.nodes["\(key)_file"] != nil {
                r.fail(entries.path(key), "set either \(key) or \(key)_file, not both")
            }
            return inline ?? fromFile
        }
        let user = entries.string("user", &r)
        let password = secret("password")
        let token = secret("token")
        let credentials = entries.string("credentials_file", &r).map { ConfigLoader.resolve($0, base: context.baseDirectory) }
        let nkey = entries.string("nkey", &r)
        let nkeySeed = entries.string("nkey_seed_file", &r).map { ConfigLoader.resolve($0, base: context.baseDirectory) }
        var methods: [String] = []
        if user != nil || password != nil { methods.append("user/password") }
        if token != nil { methods.append("token") }
        if credentials != nil { methods.append("credentials_file") }
        if nkey != nil || nkeySeed != nil { methods.append("nkey") }
        if methods.count > 1 {
            r.fail("nats", "choose one authentication method, found \(methods.joined(separator: " and "))")
        }
        if let user, let password {
            return .userPassword(user: user, password: password)
        } else if user != nil || password != nil {
            r.fail(user == nil ? "nats.user" : "nats.password", "user and password go together")
        } else if let token {
            return .token(token)
        } else if let credentials {
            if !FileManager.default.isReadableFile(atPath: credentials) {
                r.fail("nats.credentials_file", "cannot read \(credentials)")
            }
            return .credentialsFile(credentials)
        } else if let nkey, let nkeySeed {
            if !FileManager.default.isReadableFile(atPath: nkeySeed) {
                r.fail("nats.nkey_seed_file", "cannot read \(nkeySeed)")
            }
            return .nkey(publicKey: nkey, seedFile: nkeySeed)
        } else if nkey != nil || nkeySeed != nil {
            r.fail(nkey == nil ? "nats.nkey" : "nats.nkey_seed_file", "nkey (the public key) and nkey_seed_file go together")
        }
        return .none
    }
}

extension ConfigSection<NATSConnectionConfiguration> {
    /// `nats.reconnect:`
    static var reconnect: Self {
        Self(fields: [
            .key("max_attempts", \.maxReconnectAttempts, .int(min: -1), doc: "reconnect attempts before giving up; -1: for ever"),
            .key("wait", \.reconnectWait, .duration(allowZero: false), doc: "the pause between attempts"),
        ])
    }

    /// `nats.pending_limits:` — libnats 3.4 refuses to subscribe ("Invalid
    /// Argument") with more than about two million pending messages.
    static var pendingLimits: Self {
        Self(fields: [
            .key("messages", \.pendingMessagesLimit, .int(min: 1).checked {
                $0 > ConfigLoader.maxPendingMessages ? "at most \(ConfigLoader.maxPendingMessages) (libnats refuses larger subscription buffers)" : nil
            }, doc: "messages buffered per subscription"),
            .key("bytes", \.pendingBytesLimit, .int(min: 1), doc: "bytes buffered per subscription"),
        ])
    }
}

extension ConfigSection<EventLimits> {
    /// `nats.limits:` (docs/ARCHITECTURE.md, Bad input).
    static var eventLimits: Self {
        Self(fields: [
            .key("max_payload_bytes", \.maxPayloadBytes, .int(min: 1), doc: "largest accepted payload"),
            .key("max_labels", \.maxLabels, .int(min: 1), doc: "most labels an event may carry"),
            .key("max_label_name_bytes", \.maxLabelNameBytes, .int(min: 1), doc: "longest label name"),
            .key("max_label_value_bytes", \.maxLabelValueBytes, .int(min: 1), doc: "longest label value"),
            .key("max_annotations", \.maxAnnotations, .int(min: 1), doc: "most annotations an event may carry"),
            .key("max_annotation_value_bytes", \.maxAnnotationValueBytes, .int(min: 1), doc: "longest annotation value"),
            .key("max_clock_skew", \.maxClockSkew, .duration(), doc: "how far past the receive time an event's time may lie"),
        ])
    }
}

extension ConfigSection<AlerterConfig.ControlSection> {
    /// `nats.control:` (docs/ARCHITECTURE.md, Control plane).
    static var control: Self {
        Self(fields: [
            .key("enabled", \.enabled, .bool, doc: "answer requests, publish state-change events and $SRV discovery"),
            .key("prefix", \.prefix, .string.checked {
                ConfigLoader.validateSubject($0, wildcards: false)
            }, doc: "subjects are <prefix>.api.… and <prefix>.events.…"),
            .key("event_format", \.eventFormat, .oneOf("event format"), doc: "protobuf or json"),
            .key("silence_writes", \.silenceWrites, .bool,
                 doc: "answer silences.create and silences.expire (off: anyone who may publish there could mute alerts; restrict the subjects first)"),
        ])
    }
}

extension ConfigSection<AlerterConfig.JetStreamSection> {
    /// `nats.jetstream:` — the events stream and the durable consumer.
    static var jetStream: Self {
        Self(fields: [
            .key("stream", \.stream.name, .string.checked { isJetStreamName($0) ? nil : "a stream name cannot be empty or contain spaces, '.', '*' or '>'" },
                 doc: "the events stream's name"),
            .key("subjects", \.stream.subjects, .strings.eachChecked { ConfigLoader.validateSubject($0, wildcards: true) },
                 doc: "subjects the stream captures; default: nats.subjects"),
            .key("create", \.stream.create, .bool, doc: "create or update the stream at start; false: bind to an existing one"),
            .key("durable", \.consumer.durable, .string.checked { isJetStreamName($0) ? nil : "a consumer name cannot be empty or contain spaces, '.', '*' or '>'" },
                 doc: "the durable consumer's name; the HA group's owner consumes it (a new owner recreates it)"),
            .key("ack_wait", \.consumer.ackWait, .duration(allowZero: false), doc: "how long a delivery may go unacknowledged"),
            .key("max_deliver", \.consumer.maxDeliver, .int(min: 1), doc: "deliveries of one event before it is given up"),
            .key("max_ack_pending", \.consumer.maxAckPending, .int(min: 1), doc: "unacknowledged events in flight"),
            .key("duplicate_window", \.stream.duplicateWindow, .duration(), doc: "JetStream drops a message id it saw within this window"),
            .key("max_age", \.stream.maxAge, .duration(), doc: "how long events are kept"),
            .key("replicas", \.stream.replicas, .int(min: 1), doc: "the stream's replicas"),
            .key("dead_letter_subject", \.deadLetterSubject, .string.checked { ConfigLoader.validateSubject($0, wildcards: false) },
                 doc: "rejected events are republished here with the reason in headers"),
        ])
    }

    private static func isJetStreamName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains(where: { " .*>\t".contains($0) })
    }
}
