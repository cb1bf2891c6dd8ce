import AlertNotify
import Foundation
import Yams

/// The nodes a section's mapping held, by key: what its `combine` step reads
/// for the keys that only mean something together (a secret and its `_file`
/// twin, the NATS authentication methods).
struct ConfigEntries {
    let node: Node?
    let path: String
    var nodes: [String: Node] = [:]

    func path(_ key: String) -> String { YAMLReader.child(path, key) }

    func string(_ key: String, _ r: inout YAMLReader) -> String? {
        nodes[key].flatMap { r.string($0, path(key)) }
    }

    /// A secret set inline or by its `_file` twin, not both; nil when neither is.
    /// `problem` checks an inline value.
    func secret(_ key: String, _ r: inout YAMLReader, _ context: ConfigContext, _ problem: (String) -> String? = { _ in nil }) -> Secret? {
        let inline = string(key, &r), file = string("\(key)_file", &r)
        if let inline, let message = problem(inline) { r.fail(path(key), message) }
        if inline != nil && file != nil {
            r.fail(path(key), "set either the value or its _file twin, not both")
            return nil
        }
        if let file {
            let resolved = ConfigLoader.resolve(file, base: context.baseDirectory)
            if !FileManager.default.isReadableFile(atPath: resolved) { r.fail(path(key) + "_file", "cannot read \(resolved)") }
            return .file(resolved)
        }
        return inline.map(Secret.inline)
    }
}
