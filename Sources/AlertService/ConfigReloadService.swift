public import ServiceLifecycle
import UnixSignals

/// Reloads the configuration on SIGHUP (like Alertmanager and Prometheus).
/// The outcome is logged and recorded in the reload metrics.
public struct ConfigReloadService: Service {
    let runtime: AlerterRuntime

    public init(runtime: AlerterRuntime) {
        self.runtime = runtime
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            runtime.logger.info("SIGHUP: reloading the configuration")
            _ = await runtime.reload()
        }
    }
}
