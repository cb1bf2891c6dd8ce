/// One integration of a receiver: its kind and its position among the
/// receiver's integrations of that kind (`slack/0`), stable across reloads
/// that do not change the receiver. Alertmanager's notification log is
/// keyed the same way.
public struct IntegrationAddress: Hashable, Sendable {
    public var receiver: String
    public var kind: String
    public var index: Int

    public init(receiver: String, kind: String, index: Int) {
        self.receiver = receiver
        self.kind = kind
        self.index = index
    }

    /// `slack/0`: how a notification names the integration it is for.
    public var name: String { "\(kind)/\(index)" }
    /// `slack[0]`: how logs and dead-letter headers name it.
    public var label: String { "\(kind)[\(index)]" }
}
