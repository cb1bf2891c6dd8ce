import Foundation
import Yams

/// The running configuration as Alertmanager itself would accept it, for
/// `GET /api/v2/status` (amtool's `config show` and `config routes` parse
/// it): nats-alerter's own sections and keys are left out, receivers are
/// reduced to their names, `repeat_interval: never` becomes a year, and
/// every secret reads `<secret>`, as Alertmanager prints them.
enum AlertmanagerConfigExport {
    static let alertmanagerTopLevel: Set<String> = ["global", "route", "receivers", "inhibit_rules", "time_intervals", "mute_time_intervals"]
    static let natsAlerterRouteKeys: Set<String> = ["subjects", "send_resolved_when_muted"]
    static let natsAlerterGlobalKeys: Set<String> = ["notification_deadline", "external_url"]

    /// Keys whose values Alertmanager keeps secret (`Secret`/`SecretURL`
    /// fields), wherever they appear; also any key ending in `_password`,
    /// `_secret`, `_token` or `_api_key`. `*_file` keys (paths) are shown.
    static let secretKeys: Set<String> = [
        "password", "secret", "token", "credentials", "bearer_token", "client_secret", "api_key", "api_secret",
        "routing_key", "service_key", "user_key", "bot_token", "slack_api_url", "api_url", "webhook_url",
        "smtp_auth_password", "smtp_auth_secret", "auth_password", "auth_secret",
    ]
    /// Receiver integrations whose `url` is a secret in Alertmanager.
    static let secretURLParents: Set<String> = ["webhook_configs", "msteams_configs", "msteamsv2_configs", "discord_configs", "rocketchat_configs"]

    static func isSecret(_ key: String, parent: String?) -> Bool {
        if key.hasSuffix("_file") { return false }
        if secretKeys.contains(key) { return true }
        if ["_password", "_secret", "_token", "_api_key"].contains(where: { key.hasSuffix($0) }) { return true }
        return key == "url" && parent.map(secretURLParents.contains) == true
    }

    /// `node` with every secret value replaced by `<secret>`.
    static func maskSecrets(_ node: Node, parent: String? = nil) -> Node {
        switch node {
        case .mapping(let mapping):
            var result = Node.Mapping([])
            for (key, value) in mapping {
                let name = key.string ?? ""
                if isSecret(name, parent: parent), value.scalar != nil {
                    result[key] = Node("<secret>")
                } else {
                    result[key] = maskSecrets(value, parent: name)
                }
            }
            return .mapping(result)
        case .sequence(let items):
            return .sequence(Node.Sequence(items.map { maskSecrets($0, parent: parent) }))
        default:
            return node
        }
    }

    static func yaml(of config: AlerterConfig) -> String {
        guard let text = config.sourceYAML,
              let root = try? Yams.compose(yaml: text), case .mapping(let mapping) = maskSecrets(root) else {
            let fallback = config
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
