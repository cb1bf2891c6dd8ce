/// The state store of `state.backend: memory`: nothing survives a restart,
/// so nothing is kept. (A `MemoryStateStore` there held a second copy of
/// every alert that was never read again: about 200 bytes per active alert,
/// docs/ARCHITECTURE.md, "Memory per alert".) Thread-safe: stateless.
public final class DiscardingStateStore: StateStore {
    public init() {}

    public func load() async throws -> PersistedState { PersistedState() }

    public func record(_ changes: [StateChange]) async throws {}
}
