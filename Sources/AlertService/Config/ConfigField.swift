import Yams

/// One YAML key of a section, described once: its name, how it is read, a
/// line of documentation, and what a reload does with it. The reader, the
/// unknown-key check, the restart notes and the reference-docs test all
/// come from this (docs/ARCHITECTURE.md, "Adding a config option"). A key's
/// default is the default of the property it sets.
struct ConfigField<Value> {
    let key: String
    let doc: String
    /// nil: as the section says.
    let reload: ConfigReload?
    /// Reads the key's node into the section's value; problems go to the reader.
    let read: (inout Value, Node, _ path: String, inout YAMLReader, ConfigContext) -> Void
    /// Whether two values differ in what this key sets (the restart notes).
    let differs: (Value, Value) -> Bool
    /// The keys of a nested section, for the reference docs.
    var nestedKeys: [String] = []
}

extension ConfigField {
    /// A key `parser` reads into `target`; a value it refuses leaves the default.
    static func key<T: Equatable>(_ key: String, _ target: WritableKeyPath<Value, T>, _ parser: ConfigParser<T>,
                                  reload: ConfigReload? = nil, doc: String) -> Self {
        Self(key: key, doc: doc, reload: reload, read: { value, node, path, r, context in
            if let parsed = parser.parse(node, path, &r, context) { value[keyPath: target] = parsed }
        }, differs: { $0[keyPath: target] != $1[keyPath: target] })
    }

    /// An optional setting: nil unless the key is there.
    static func key<T: Equatable>(_ key: String, _ target: WritableKeyPath<Value, T?>, _ parser: ConfigParser<T>,
                                  reload: ConfigReload? = nil, doc: String) -> Self {
        Self.key(key, target, parser.map { Optional($0) }, reload: reload, doc: doc)
    }

    /// A nested mapping, read into `target` by its own section.
    static func section<T>(_ key: String, _ target: WritableKeyPath<Value, T>, _ section: ConfigSection<T>,
                           reload: ConfigReload? = nil, doc: String) -> Self {
        Self(key: key, doc: doc, reload: reload, read: { value, node, path, r, context in
            section.read(node, path, into: &value[keyPath: target], &r, context)
        }, differs: { old, new in
            section.fields.contains { $0.differs(old[keyPath: target], new[keyPath: target]) }
        }, nestedKeys: section.keyPaths)
    }

    /// A nested mapping that turns a feature on: present (even empty), `target`
    /// is `initial` with the mapping's keys read into it.
    static func section<T>(_ key: String, _ target: WritableKeyPath<Value, T?>, _ section: ConfigSection<T>, from initial: T,
                           reload: ConfigReload? = nil, doc: String) -> Self {
        Self(key: key, doc: doc, reload: reload, read: { value, node, path, r, context in
            var nested = initial
            section.read(node, path, into: &nested, &r, context)
            value[keyPath: target] = nested
        }, differs: { old, new in
            switch (old[keyPath: target], new[keyPath: target]) {
            case (nil, nil): false
            case let (old?, new?): section.fields.contains { $0.differs(old, new) }
            default: true
            }
        }, nestedKeys: section.keyPaths)
    }

    /// A key that only means something with others (a secret and its `_file`
    /// twin): the section's `combine` step reads it and sets `target`.
    static func combined<T: Equatable>(_ key: String, into target: KeyPath<Value, T>, reload: ConfigReload? = nil, doc: String) -> Self {
        Self(key: key, doc: doc, reload: reload, read: { _, _, _, _, _ in }, differs: { $0[keyPath: target] != $1[keyPath: target] })
    }

    /// A key with a shape of its own (a list of mappings, free-form names).
    /// Applied on reload: it has no comparable target for the restart notes.
    static func custom(_ key: String, doc: String,
                       read: @escaping (inout Value, Node, _ path: String, inout YAMLReader, ConfigContext) -> Void) -> Self {
        Self(key: key, doc: doc, reload: .live, read: read, differs: { _, _ in false })
    }
}
