public import Logging

/// Installs the process-wide log handler once, from `main` (libraries never
/// bootstrap logging: swift-log's rule).
public enum LoggingBootstrap {
    public static func bootstrap(format: AlerterConfig.LogSection.Format, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            switch format {
            case .json: JSONLogHandler(label: label, level: level)
            case .text: TextLogHandler(label: label, level: level)
            }
        }
    }
}
