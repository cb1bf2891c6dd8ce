import Foundation
import Yams

/// The configuration as Alertmanager itself would accept it, for
/// `GET /api/v2/status` (amtool's `config show` and `config routes` parse
/// it): nats-alerter's own sections and keys are left out, receivers are
/// reduced to their names, and `repeat_interval: never` becomes a year.
enum AlertmanagerConfigExport {
    static let alertmanagerTopLevel: Set<String> = ["global", "route", "receivers", "inhibit_rules", "time_intervals", "mute_time_intervals"]
    static let natsAlerterRouteKeys: Set<String> = ["subjects", "send_resolved_when_muted"]
    static let natsAlerterGlobalKeys: Set<String> = ["notification_deadline", "external_url"]

    static func yaml(from path: String?, fallback: AlerterConfig) -> String {
        guard let path, let text = try? String(contentsOfFile: path, encoding: .utf8),
              let root = try? Yams.compose(yaml: text), case .mapping(let mapping) = root else {
            return "route:\n  receiver: \(fallback.engine.route.receiver ?? "log")\nreceivers:\n" +
                fallback.engine.receivers.keys.sorted().map { "  - name: \($0)\n" }.joined()
        }
        var result = Node.Mapping([])
        for (key, value) in mapping {
            guard case .scalar(let name) = key, alertmanagerTopLevel.contains(name.string) else { continue }
            switch name.string {
            case "global": result[key] = strip(value, natsAlerterGlobalKeys, recursive: false)
            case "route": result[key] = route(value)
            case "receivers": result[key] = receivers(value)
            default: result[key] = value
            }
        }
        if result[Node("receivers")] == nil {
            result[Node("route")] = Node([(Node("receiver"), Node("log"))])
            result[Node("receivers")] = Node([Node([(Node("name"), Node("log"))])])
        }
        return (try? Yams.serialize(node: .mapping(result))) ?? ""
    }

    static func strip(_ node: Node, _ keys: Set<String>, recursive: Bool) -> Node {
        guard case .mapping(let mapping) = node else { return node }
        var result = Node.Mapping([])
        for (key, value) in mapping where !keys.contains(key.string ?? "") {
            result[key] = value
        }
        return .mapping(result)
    }

    static func route(_ node: Node) -> Node {
        guard case .mapping(let mapping) = node else { return node }
        var result = Node.Mapping([])
        for (key, value) in mapping where !natsAlerterRouteKeys.contains(key.string ?? "") {
            switch key.string {
            case "routes":
                if case .sequence(let children) = value {
                    result[key] = .sequence(Node.Sequence(children.map(route)))
                }
            case "repeat_interval" where value.string == "never":
                result[key] = Node("8760h")
            default:
                result[key] = value
            }
        }
        return .mapping(result)
    }

    static func receivers(_ node: Node) -> Node {
        guard case .sequence(let list) = node else { return node }
        return .sequence(Node.Sequence(list.compactMap { item in
            guard let name = item[Node("name")] else { return nil }
            return Node([(Node("name"), name)])
        }))
    }
}
