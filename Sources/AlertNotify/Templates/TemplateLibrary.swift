import Foundation
import Mustache

/// How a rendered value is escaped.
public enum TemplateFormat: String, Sendable {
    /// Nothing escaped (email subject and text part).
    case text = "TEXT"
    /// HTML-escaped (the email HTML part).
    case html = "HTML"
    /// Slack's rule: only `&`, `<` and `>` escaped, so a label such as
    /// `<!channel>` or `<https://x|y>` shows as text and pings nobody.
    case slack = "SLACK"
}

struct SlackContentType: MustacheContentType {
    func escapeText(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            default: result.append(character)
            }
        }
        return result
    }
}

/// A template that could not be parsed or read.
public struct TemplateError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The Mustache templates: the built-in defaults, overridden by files listed
/// under `templates:` (a file `slack.text.mustache` replaces the template
/// `slack.text`). Fields of an integration (`title`, `text`, `html`,
/// `headers`…) are templates too and can include these as partials:
/// `{{> slack.text}}`.
public struct TemplateLibrary: Sendable {
    private let sources: [String: String]
    private let library: MustacheLibrary

    public static let builtInNames = BuiltInTemplates.all.keys.sorted()

    /// - Parameter overrides: template name → Mustache source.
    public init(overrides: [String: String] = [:]) throws(TemplateError) {
        Self.registerContentTypes
        var sources = BuiltInTemplates.all
        sources.merge(overrides) { $1 }
        var compiled: [String: MustacheTemplate] = [:]
        for (name, source) in sources {
            do {
                compiled[name] = try MustacheTemplate(string: source)
            } catch {
                throw TemplateError("template \(name): \(error)")
            }
        }
        self.sources = sources
        self.library = MustacheLibrary(templates: compiled)
    }

    /// Loads overrides from the files matching `patterns` (globs, relative to
    /// `baseDirectory`). Alertmanager's Go template files (`*.tmpl`) cannot be
    /// Mustache; they are skipped and returned in `skipped`.
    public static func load(patterns: [String], baseDirectory: String, skipped: inout [String]) throws(TemplateError) -> TemplateLibrary {
        var overrides: [String: String] = [:]
        for pattern in patterns {
            let absolute = pattern.hasPrefix("/") ? pattern : baseDirectory + "/" + pattern
            let files = glob(absolute)
            if files.isEmpty && !pattern.contains("*") {
                throw TemplateError("templates: \(pattern) does not exist")
            }
            for file in files {
                if file.hasSuffix(".tmpl") {
                    skipped.append(file)
                    continue
                }
                guard let source = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw TemplateError("templates: cannot read \(file)")
                }
                var name = URL(fileURLWithPath: file).lastPathComponent
                if name.hasSuffix(".mustache") { name.removeLast(".mustache".count) }
                overrides[name] = source
            }
        }
        return try TemplateLibrary(overrides: overrides)
    }

    /// Renders template source text (an integration field) with this library's partials.
    public func render(_ source: String, format: TemplateFormat, data: [String: Any]) throws(TemplateError) -> String {
        let template: MustacheTemplate
        do {
            template = try MustacheTemplate(string: "{{% CONTENT_TYPE: \(format.rawValue)}}" + source)
        } catch {
            throw TemplateError("cannot parse template \(source.prefix(60).debugDescription): \(error)")
        }
        return template.render(data, library: library)
    }

    /// Checks that template source parses (for config validation).
    public static func validate(_ source: String) throws(TemplateError) {
        do {
            _ = try MustacheTemplate(string: source)
        } catch {
            throw TemplateError("not a valid Mustache template: \(error)")
        }
    }

    /// Renders a named template of the library in `format`.
    public func render(named name: String, format: TemplateFormat, data: [String: Any]) throws(TemplateError) -> String {
        guard sources[name] != nil else { throw TemplateError("no template named \(name)") }
        return try render("{{> \(name)}}", format: format, data: data)
    }

    public func source(named name: String) -> String? { sources[name] }

    private static let registerContentTypes: Void = {
        MustacheContentTypes.register(SlackContentType(), named: TemplateFormat.slack.rawValue)
    }()

    private static func glob(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard Foundation.glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }
}
