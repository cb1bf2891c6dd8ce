import Yams

/// What a reload (SIGHUP, `POST /-/reload`) does with a changed key.
enum ConfigReload: Sendable {
    /// The reload applies it.
    case live
    /// The running service keeps the value it started with; the reload says so.
    case restart
}

/// What every key of one file is read against.
struct ConfigContext {
    /// Relative `*_file` paths resolve against the config file's folder.
    let baseDirectory: String
    /// For the sections that name no files (routing, rules).
    static let withoutFiles = ConfigContext(baseDirectory: ".")
}

/// A mapping of the config file described key by key.
struct ConfigSection<Value> {
    /// The reload behaviour of fields that do not name their own.
    var reload: ConfigReload = .live
    var fields: [ConfigField<Value>]
    /// Alertmanager keys accepted with a note because they have no effect here.
    var ignoredKeys: Set<String> = []
    /// Settings and checks that span keys, once every key is read.
    var combine: (inout Value, ConfigEntries, inout YAMLReader, ConfigContext) -> Void = { _, _, _, _ in }

    /// Reads `node` into `value` in file order; unknown keys are reported
    /// with a "did you mean". Returns the notes for ignored Alertmanager keys.
    @discardableResult
    func read(_ node: Node?, _ path: String, into value: inout Value, _ r: inout YAMLReader, _ context: ConfigContext) -> [String] {
        read(keys(node, path, &r), of: node, path, into: &value, &r, context)
    }

    /// The mapping's entries with the unknown keys reported and left out.
    func keys(_ node: Node?, _ path: String, _ r: inout YAMLReader) -> [(String, Node)] {
        r.mapping(node, path, allowed: Set(fields.map(\.key)).union(ignoredKeys))
    }

    /// Reads the entries `keys` returned (a rule counts its issues in between).
    @discardableResult
    func read(_ keys: [(String, Node)], of node: Node?, _ path: String, into value: inout Value, _ r: inout YAMLReader,
              _ context: ConfigContext) -> [String] {
        var entries = ConfigEntries(node: node, path: path)
        var notes: [String] = []
        for (key, item) in keys {
            guard let field = fields.first(where: { $0.key == key }) else {
                notes.append("\(entries.path(key)): Alertmanager option without effect in nats-alerter; ignored")
                continue
            }
            entries.nodes[key] = item
            field.read(&value, item, entries.path(key), &r, context)
        }
        combine(&value, entries, &r, context)
        return notes
    }

    /// Every key, a nested section's as `a.b`: what the reference docs must name.
    var keyPaths: [String] {
        fields.flatMap { field in field.nestedKeys.isEmpty ? [field.key] : field.nestedKeys.map { "\(field.key).\($0)" } }
    }

    /// The note for a reload that changed keys a restart is needed for; nil when none did.
    func restartNote(_ name: String, from old: Value, to new: Value) -> String? {
        let restartOnly = fields.filter { ($0.reload ?? reload) == .restart }
        let changed = restartOnly.filter { $0.differs(old, new) }.map(\.key)
        guard let last = changed.last else { return nil }
        if restartOnly.count == fields.count { return "\(name): changes take effect after a restart" }
        let keys = changed.count == 1 ? last : changed.dropLast().joined(separator: ", ") + " and " + last
        return "\(name): \(keys) \(changed.count == 1 ? "takes" : "take") effect after a restart"
    }
}
