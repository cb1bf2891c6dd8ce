import AlertCore
import Logging
import Synchronization
@testable import AlertNotify
import Foundation
import Testing

@Suite("Retry policy and Retry-After")
struct DeliveryPolicyTests {
    @Test("backoff starts at 500 ms, doubles, is capped at 60 s, with jitter between 50 % and 100 %")
    func backoff() {
        let policy = RetryPolicy()
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 1) == .milliseconds(500))
        #expect(policy.delay(afterAttempt: 2, retryAfter: nil, random: 1) == .seconds(1))
        #expect(policy.delay(afterAttempt: 5, retryAfter: nil, random: 1) == .seconds(8))
        #expect(policy.delay(afterAttempt: 20, retryAfter: nil, random: 1) == .seconds(60))
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, random: 0.5) == .seconds(1))
    }

    @Test("Retry-After is a floor that jitter never shortens")
    func retryAfterFloor() {
        let policy = RetryPolicy()
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(2), random: 0.5) == .seconds(2))
        #expect(policy.delay(afterAttempt: 8, retryAfter: .seconds(2), random: 1) == .seconds(60))
    }

    @Test("Retry-After parses delta-seconds and HTTP dates")
    func retryAfterParsing() throws {
        #expect(HTTPPoster.retryAfter("2") == .seconds(2))
        #expect(HTTPPoster.retryAfter("0.5") == .milliseconds(500))
        #expect(HTTPPoster.retryAfter("soon") == nil)
        #expect(HTTPPoster.retryAfter(nil) == nil)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let inTenSeconds = formatter.string(from: Date().addingTimeInterval(10))
        let parsed = try #require(HTTPPoster.retryAfter(inTenSeconds))
        #expect(parsed > .seconds(7) && parsed <= .seconds(10))
    }

    @Test("a receiver's absurd Retry-After never traps: inf, 1e300, nan, negative, huge dates are capped or ignored")
    func hostileRetryAfter() {
        #expect(HTTPPoster.retryAfter("inf") == HTTPPoster.maximumRetryAfter)
        #expect(HTTPPoster.retryAfter("Infinity") == HTTPPoster.maximumRetryAfter)
        #expect(HTTPPoster.retryAfter("1e300") == HTTPPoster.maximumRetryAfter)
        #expect(HTTPPoster.retryAfter("9223372036854775807") == HTTPPoster.maximumRetryAfter)
        #expect(HTTPPoster.retryAfter("nan") == nil)
        #expect(HTTPPoster.retryAfter("-5") == nil)
        #expect(HTTPPoster.retryAfter("-inf") == nil)
        #expect(HTTPPoster.retryAfter(String(repeating: "9", count: 10_000)) == nil)
        #expect(HTTPPoster.retryAfter("Fri, 31 Dec 9999 23:59:59 GMT") == HTTPPoster.maximumRetryAfter)
    }

    @Test("Retry-After is capped at the longest backoff: a receiver cannot park a notification for an hour")
    func retryAfterCapped() {
        let policy = RetryPolicy()
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(3600), random: 1) == .seconds(60))
        #expect(policy.delay(afterAttempt: 1, retryAfter: HTTPPoster.retryAfter("inf"), random: 1) == .seconds(60))
    }

    @Test("Slack spacing counts from the end of the previous request: a slow request still leaves a full interval before the next one, and one webhook has one request in flight")
    func rateLimiterSpacesFromCompletion() async throws {
        let limiter = RateLimiter(interval: .milliseconds(400))
        let spans = await withTaskGroup(of: (ContinuousClock.Instant, ContinuousClock.Instant).self) { group in
            for _ in 0..<3 {
                group.addTask {
                    await limiter.spaced("https://hooks.slack.example/a") {
                        let start = ContinuousClock.now
                        try? await Task.sleep(for: .milliseconds(300))  // a slow receiver
                        return (start, ContinuousClock.now)
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }.sorted { $0.0 < $1.0 }
        }
        #expect(spans.count == 3)
        for index in 1..<spans.count {
            // Never two in flight, and a full interval after the previous one ended
            // (spacing from the previous start gave 400 ms here: 100 ms after its end).
            #expect(spans[index].0 - spans[index - 1].1 >= .milliseconds(400))
        }
        // Another webhook has its own turn: it goes out while this one's is held.
        await limiter.acquire("https://hooks.slack.example/a")
        await limiter.spaced("https://hooks.slack.example/b") {}
        await limiter.release("https://hooks.slack.example/a")
    }

    @Test("error messages name only the host of a secret URL")
    func hostOnly() {
        #expect(HTTPPoster.host(of: "https://hooks.slack.com/services/T0/B0/SECRET") == "hooks.slack.com")
        #expect(HTTPPoster.host(of: "http://127.0.0.1:8080/hook?token=x") == "127.0.0.1:8080")
    }
}

/// An integration that refuses every notification for good (a 400).
private struct RefusingIntegration: Integration {
    var kind: String { "webhook" }
    var sendResolved: Bool { true }
    func send(_ notification: AlertCore.Notification) async throws(NotifyError) {
        throw NotifyError(.permanent, reason: "http_4xx", message: "HTTP 400")
    }
}

@Suite("Delivery outcome")
struct DeliveryOutcomeTests {
    @Test("a notification given up for good is reported, so the notification log can be put back")
    func givenUpReported() async {
        let reported = Mutex<[String]>([])
        let worker = IntegrationWorker(receiver: "team", integration: RefusingIntegration(), policy: RetryPolicy(), statistics: DeliveryStatistics(),
                                       logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                                       onGivenUp: { notification in reported.withLock { $0.append(notification.groupKey) } })
        worker.enqueue(sampleNotification())
        worker.finish()
        await worker.run()
        #expect(reported.withLock { $0 } == ["{}:{}"])
    }
}
