/// One problem in a config file, named by its YAML path
/// (`nats.servers[0]: not a nats:// or tls:// URL`).
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    /// 1-based line in the file, when known.
    public var line: Int?

    public init(path: String, message: String, line: Int? = nil) {
        self.path = path
        self.message = message
        self.line = line
    }

    public var description: String {
        let location = path.isEmpty ? "(top level)" : path
        if let line { return "\(location): \(message) (line \(line))" }
        return "\(location): \(message)"
    }
}

/// A config that cannot be used: every problem found, not just the first.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var issues: [ConfigIssue]

    public init(file: String, issues: [ConfigIssue]) {
        self.file = file
        self.issues = issues
    }

    public var description: String {
        "\(file): \(issues.count) error\(issues.count == 1 ? "" : "s")\n" + issues.map { "  \($0)" }.joined(separator: "\n")
    }
}
