import AlertNotify
import Foundation
import Yams

/// How one YAML node becomes a typed value. Problems go to the reader with
/// the node's path and line; nil leaves the key's default in place.
struct ConfigParser<T> {
    let parse: (Node, _ path: String, inout YAMLReader, ConfigContext) -> T?
}

extension ConfigParser {
    /// Refuses a value `problem` finds fault with; `line: false` reports it
    /// without the line (the mapping's problem rather than the value's).
    func checked(line: Bool = true, _ problem: @escaping (T) -> String?) -> ConfigParser<T> {
        ConfigParser { node, path, r, context in
            guard let value = parse(node, path, &r, context) else { return nil }
            guard let message = problem(value) else { return value }
            r.fail(path, message, line ? node : nil)
            return nil
        }
    }

    func map<U>(_ transform: @escaping (T) -> U) -> ConfigParser<U> {
        ConfigParser<U> { node, path, r, context in parse(node, path, &r, context).map(transform) }
    }

    /// The value `transform` makes of it; when it makes none, `problem` is reported.
    func map<U>(_ transform: @escaping (T) -> U?, otherwise problem: @escaping (T) -> String) -> ConfigParser<U> {
        ConfigParser<U> { node, path, r, context in
            guard let value = parse(node, path, &r, context) else { return nil }
            guard let transformed = transform(value) else {
                r.fail(path, problem(value), node)
                return nil
            }
            return transformed
        }
    }
}

extension ConfigParser<String> {
    static var string: Self { Self { node, path, r, _ in r.string(node, path) } }

    /// A file path, relative to the config's folder, that must be readable.
    static var readableFile: Self {
        Self { node, path, r, context in
            guard let file = r.string(node, path).map({ ConfigLoader.resolve($0, base: context.baseDirectory) }) else { return nil }
            if !FileManager.default.isReadableFile(atPath: file) { r.fail(path, "cannot read \(file)", node) }
            return file
        }
    }

    /// A Mustache template; Alertmanager's Go templates are refused with a clear message.
    static var template: Self {
        Self { node, path, r, _ in
            guard let text = r.string(node, path) else { return nil }
            if text.range(of: #"\{\{-?\s*(\.|template\s|define\s|range\s|if\s|end\b|with\s)"#, options: .regularExpression) != nil {
                r.fail(path, "this looks like an Alertmanager Go template; nats-alerter templates are Mustache (e.g. {{commonLabels.alertname}}, {{#firing}}…{{/firing}}); see README \"Templates\"", node)
                return nil
            }
            do {
                try TemplateLibrary.validate(text)
            } catch {
                r.fail(path, "\(error)", node)
                return nil
            }
            return text
        }
    }
}

extension ConfigParser<[String]> {
    static var strings: Self { Self { node, path, r, _ in r.strings(node, path) } }

    /// Each item checked; a problem is reported at `path[index]`, at the list's line.
    func eachChecked(_ problem: @escaping (String) -> String?) -> Self {
        Self { node, path, r, context in
            guard let items = parse(node, path, &r, context) else { return nil }
            for (index, item) in items.enumerated() {
                if let message = problem(item) { r.fail("\(path)[\(index)]", message, node) }
            }
            return items
        }
    }
}

extension ConfigParser<Int> {
    static func int(min: Int? = nil) -> Self { Self { node, path, r, _ in r.int(node, path, min: min) } }
}

extension ConfigParser<Bool> {
    static var bool: Self { Self { node, path, r, _ in r.bool(node, path) } }
}

extension ConfigParser<Duration> {
    static func duration(allowZero: Bool = true) -> Self { Self { node, path, r, _ in r.duration(node, path, allowZero: allowZero) } }
}

extension ConfigParser where T: RawRepresentable<String> & CaseIterable {
    /// One of the type's cases by name: "unknown <what> "x" (allowed: …)".
    static func oneOf(_ what: String, _ make: @escaping (String) -> T? = T.init(rawValue:)) -> Self {
        ConfigParser<String>.string.map(make, otherwise: { text in
            "unknown \(what) \"\(text)\" (allowed: \(T.allCases.map(\.rawValue).joined(separator: ", ")))"
        })
    }
}
