public import ServiceLifecycle
import UnixSignals

/// Reloads the configuration on SIGHUP (like Alertmanager and Prometheus).
/// The outcome is logged and recorded in the reload metrics.
public struct ConfigReloadService: Service {
    let alerter: Alerter

    public init(alerter: Alerter) {
        self.alerter = alerter
    }

    public func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            alerter.logger.info("SIGHUP: reloading the configuration")
            _ = await alerter.reload()
        }
    }
}
