import AlertCore
@testable import AlertNotify
import AlertTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// An integration that records what it was sent, by its own name, and
/// fails (retryably) while `failing` is set.
private final class NamedIntegration: Integration {
    let name: String
    let sent: Mutex<[String]>
    let failing = Atomic<Bool>(false)
    var kind: String { "webhook" }
    var sendResolved: Bool { true }

    init(_ name: String) {
        self.name = name
        self.sent = Mutex([])
    }

    func send(_ notification: AlertCore.Notification) async throws(NotifyError) {
        if failing.load(ordering: .relaxed) { throw NotifyError(.retryable, reason: "http_5xx", message: "HTTP 503") }
        sent.withLock { $0.append(notification.groupKey) }
    }

    var received: [String] { sent.withLock { $0 } }
}

@Suite("Notifiers: the in-memory sink across reloads and shutdown", .timeLimit(.minutes(1)))
struct NotifiersTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    func notification(_ name: String) -> AlertCore.Notification {
        makeNotification(receiver: "team", firing: [AlertEvent(alertType: name, subject: "system.x")])
    }

    @Test("shut down before run() started, queued notifications are still delivered (a shutdown right after start-up lost them)")
    func shutdownBeforeRun() async throws {
        let notifiers = Notifiers(logger: logger, lookup: { _ in nil })
        let integration = NamedIntegration("only")
        notifiers.configure(integrations: ["team": [(integration, 0)]], retryPolicy: RetryPolicy())
        _ = await notifiers.submit([notification("queued")])
        await notifiers.shutdown(grace: .seconds(5))
        await notifiers.run()  // returns at once: shut down already
        #expect(integration.received.count == 1)
    }

    @Test("a reload makes the new integrations current; notifications submitted after it go to them, and each is delivered once")
    func reloadSwapsIntegrations() async throws {
        let notifiers = Notifiers(logger: logger, lookup: { _ in nil })
        let before = NamedIntegration("before"), after = NamedIntegration("after")
        notifiers.configure(integrations: ["team": [(before, 0)]], retryPolicy: RetryPolicy())
        let running = Task { await notifiers.run() }
        #expect(await notifiers.submit([notification("first")]) == 1)
        // Delivered by the running set (so `run()` is under way when the reload comes).
        for _ in 0..<500 where before.received.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        let generation = notifiers.generation
        notifiers.configure(integrations: ["team": [(after, 0)]], retryPolicy: RetryPolicy())
        #expect(notifiers.generation == generation + 1)
        #expect(await notifiers.submit([notification("second")]) == 1)
        await notifiers.shutdown(grace: .seconds(5))
        await running.value
        #expect(before.received.count == 1 && before.received[0].contains("first"))
        #expect(after.received.count == 1 && after.received[0].contains("second"))
        #expect(notifiers.statistics.counts.values.map(\.delivered).reduce(0, +) == 2)
    }

    @Test("shutdown gives a receiver that keeps failing its grace period, then stops; the notification is not reported as given up")
    func shutdownBounded() async throws {
        let givenUp = Mutex<Int>(0)
        let notifiers = Notifiers(logger: logger, lookup: { _ in nil }, onGivenUp: { _ in givenUp.withLock { $0 += 1 } })
        let failing = NamedIntegration("down")
        failing.failing.store(true, ordering: .relaxed)
        notifiers.configure(integrations: ["team": [(failing, 0)]], retryPolicy: RetryPolicy(initialDelay: .milliseconds(50)))
        let running = Task { await notifiers.run() }
        _ = await notifiers.submit([notification("stuck")])
        await notifiers.shutdown(grace: .milliseconds(300))
        await running.value
        #expect(failing.received.isEmpty)
        #expect(givenUp.withLock { $0 } == 0)
        #expect(await notifiers.submit([notification("late")]) == 1)  // accepted and dropped: nothing is current any more
    }

    @Test("a reload whose client certificate cannot be read is refused and the running integrations stay current")
    func badCertificateKeepsRunning() async throws {
        let notifiers = Notifiers(logger: logger, lookup: { _ in nil })
        let current = NamedIntegration("current")
        notifiers.configure(integrations: ["team": [(current, 0)]], retryPolicy: RetryPolicy())
        let broken = ReceiverConfiguration(name: "team", alertmanager: [AlertmanagerForwardConfiguration(
            urls: ["https://am.example:9093"], tls: TLSSettings(certFile: "/nonexistent/client.pem", keyFile: "/nonexistent/client.key"))])
        #expect(throws: NotifyError.self) {
            try notifiers.configure(receivers: [broken], templates: try TemplateLibrary(), retryPolicy: RetryPolicy(), externalURL: "")
        }
        #expect(notifiers.addresses(of: "team") == [IntegrationAddress(receiver: "team", kind: "webhook", index: 0)])
        let running = Task { await notifiers.run() }
        _ = await notifiers.submit([notification("after_refusal")])
        await notifiers.shutdown(grace: .seconds(5))
        await running.value
        #expect(current.received.count == 1)
    }
}
