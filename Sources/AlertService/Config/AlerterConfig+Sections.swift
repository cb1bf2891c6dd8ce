extension AlerterConfig {
    /// The top-level sections described key by key.
    static var describedSections: [(name: String, section: ConfigSection<AlerterConfig>)] {
        [("nats", .nats), ("state", .state), ("ha", .ha), ("server", .server), ("log", .log)]
    }

    /// What a reload from `old` to `new` leaves for a restart, one note a
    /// section, from the `reload` behaviour of the keys that changed.
    static func restartNotes(from old: AlerterConfig, to new: AlerterConfig) -> [String] {
        var notes = describedSections.compactMap { $0.section.restartNote($0.name, from: old, to: new) }
        // `rules` and `rule_files` are lists, not a section of keys: the rules are
        // compiled once, at start, so any change to them waits for a restart.
        if old.rules != new.rules { notes.append("rules: changes take effect after a restart") }
        return notes
    }
}
