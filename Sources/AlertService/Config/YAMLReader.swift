import Yams

/// Walks a composed YAML tree with the path of every node, collecting issues
/// instead of stopping at the first, so `check-config` can list them all.
struct YAMLReader {
    private(set) var issues: [ConfigIssue] = []

    /// A file's text, or the error that says why it cannot be read.
    static func text(ofFile path: String) throws(ConfigError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, issues: [ConfigIssue(path: "", message: "cannot read the file: \(error.localizedDescription)")])
        }
    }

    /// The YAML tree of a text, or the error that says why it is not YAML.
    static func compose(_ yaml: String, file: String) throws(ConfigError) -> Node? {
        do {
            return try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError(file: file, issues: [ConfigIssue(path: "", message: "not valid YAML: \(error)")])
        }
    }

    mutating func fail(_ path: String, _ message: String, _ node: Node? = nil) {
        fail(path, message, line: node?.mark.map { $0.line })
    }

    mutating func fail(_ path: String, _ message: String, line: Int?) {
        issues.append(ConfigIssue(path: path, message: message, line: line))
    }

    static func child(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    static func isNull(_ node: Node) -> Bool {
        if case .scalar(let scalar) = node, scalar.tag.description == Tag.Name.null.rawValue || (scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)) {
            return true
        }
        return false
    }

    /// The entries of a mapping, in file order; unknown keys are reported.
    mutating func mapping(_ node: Node?, _ path: String, allowed: Set<String>? = nil) -> [(String, Node)] {
        guard let node, !Self.isNull(node) else { return [] }
        guard case .mapping(let mapping) = node else {
            fail(path, "expected a mapping (key: value pairs), found \(Self.kind(node))", node)
            return []
        }
        var result: [(String, Node)] = []
        var seen = Set<String>()
        for (keyNode, value) in mapping {
            guard case .scalar(let key) = keyNode else {
                fail(path, "keys must be strings", keyNode)
                continue
            }
            if !seen.insert(key.string).inserted {
                fail(Self.child(path, key.string), "duplicate key", keyNode)
                continue
            }
            if let allowed, !allowed.contains(key.string) {
                let suggestion = Self.closest(to: key.string, in: allowed).map { "; did you mean \"\($0)\"?" } ?? ""
                fail(Self.child(path, key.string), "unknown field\(suggestion) (allowed: \(allowed.sorted().joined(separator: ", ")))", keyNode)
                continue
            }
            result.append((key.string, value))
        }
        return result
    }

    mutating func sequence(_ node: Node, _ path: String) -> [Node] {
        if Self.isNull(node) { return [] }
        guard case .sequence(let sequence) = node else {
            fail(path, "expected a list, found \(Self.kind(node))", node)
            return []
        }
        return Array(sequence)
    }

    mutating func string(_ node: Node, _ path: String) -> String? {
        guard case .scalar(let scalar) = node else {
            fail(path, "expected a string, found \(Self.kind(node))", node)
            return nil
        }
        return scalar.string
    }

    mutating func strings(_ node: Node, _ path: String) -> [String] {
        sequence(node, path).enumerated().compactMap { index, item in string(item, "\(path)[\(index)]") }
    }

    mutating func int(_ node: Node, _ path: String, min: Int? = nil) -> Int? {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string.replacingOccurrences(of: "_", with: "")) else {
            fail(path, "expected an integer, found \(Self.describe(node))", node)
            return nil
        }
        if let min, value < min {
            fail(path, "must be at least \(min), found \(value)", node)
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node, _ path: String) -> Bool? {
        guard case .scalar(let scalar) = node else {
            fail(path, "expected true or false, found \(Self.kind(node))", node)
            return nil
        }
        switch scalar.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            fail(path, "expected true or false, found \"\(scalar.string)\"", node)
            return nil
        }
    }

    mutating func duration(_ node: Node, _ path: String, allowZero: Bool = true) -> Duration? {
        guard let text = string(node, path) else { return nil }
        guard let duration = AlertCoreDuration.parse(text) else {
            fail(path, "\"\(text)\" is not a duration (use e.g. 500ms, 30s, 5m, 1h30m)", node)
            return nil
        }
        if !allowZero, duration == .zero {
            fail(path, "must be greater than 0", node)
            return nil
        }
        return duration
    }

    static func kind(_ node: Node) -> String {
        switch node {
        case .scalar: "a scalar"
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    static func describe(_ node: Node) -> String {
        if case .scalar(let scalar) = node { return "\"\(scalar.string)\"" }
        return kind(node)
    }

    /// The allowed key nearest to a misspelt one (edit distance ≤ 2).
    static func closest(to key: String, in allowed: Set<String>) -> String? {
        allowed.map { ($0, editDistance(key, $0)) }.filter { $0.1 <= 2 }.min { $0.1 < $1.1 }?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

import AlertCore
import Foundation
typealias AlertCoreDuration = PrometheusDuration
