public import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1

/// Posts a JSON body and turns the outcome into success or a `NotifyError`:
/// 2xx succeeds; 429 and 5xx retry (429 honouring `Retry-After`); any other
/// 4xx is permanent; connection failures and time-outs retry. Errors name the
/// destination by host only: webhook URLs carry secrets.
public struct HTTPPoster: Sendable {
    public let client: HTTPClient

    public init(client: HTTPClient) {
        self.client = client
    }

    public func post(
        _ url: String, json: Data, headers: [(String, String)] = [], timeout: Duration, what: String
    ) async throws(NotifyError) {
        let host = Self.host(of: url)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "nats-alerter")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: json))
        let response: HTTPClientResponse
        let body: String
        do {
            response = try await client.execute(request, timeout: .milliseconds(Int64(timeout.seconds * 1000)))
            let buffer = try await response.body.collect(upTo: 64 * 1024)
            body = String(buffer: buffer)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .connectTimeout || error == .readTimeout {
            throw NotifyError(.retryable, reason: "timeout", message: "\(what) to \(host): timed out after \(timeout)")
        } catch {
            throw NotifyError(.retryable, reason: "network", message: "\(what) to \(host): \(Self.describe(error))")
        }
        let status = Int(response.status.code)
        switch status {
        case 200..<300:
            return
        case 429:
            throw NotifyError(.retryable, reason: "http_429", message: "\(what) to \(host): HTTP 429 (rate limited)",
                              retryAfter: Self.retryAfter(response.headers.first(name: "Retry-After")) ?? .seconds(1))
        case 500..<600:
            throw NotifyError(.retryable, reason: "http_5xx", message: "\(what) to \(host): HTTP \(status) \(body.prefix(200))",
                              retryAfter: Self.retryAfter(response.headers.first(name: "Retry-After")))
        default:
            throw NotifyError(.permanent, reason: "http_4xx", message: "\(what) to \(host): HTTP \(status) \(body.prefix(200))", httpStatus: status)
        }
    }

    /// The longest `Retry-After` honoured: a receiver cannot park a
    /// notification for longer (the retry deadline gives up sooner anyway).
    public static let maximumRetryAfter: Duration = .seconds(3600)

    /// `Retry-After` as delta-seconds or an HTTP date, capped at
    /// `maximumRetryAfter`. A receiver's reply is data from outside: `inf`,
    /// `1e300`, `nan`, negative numbers and garbage never trap (nil or capped).
    static func retryAfter(_ value: String?) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty, value.utf8.count <= 64 else { return nil }
        let cap = maximumRetryAfter.seconds
        if let seconds = Double(value) {
            guard !seconds.isNaN, seconds >= 0 else { return nil }
            return .milliseconds(Int64(min(seconds, cap) * 1000))
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let date = formatter.date(from: value) {
            let wait = date.timeIntervalSinceNow
            guard wait.isFinite else { return nil }
            return .milliseconds(Int64(min(max(0, wait), cap) * 1000))
        }
        return nil
    }

    /// The host (and port) of a URL, for messages.
    public static func host(of url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return "<invalid URL>" }
        return components.port.map { "\(host):\($0)" } ?? host
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)" }
        return String(describing: type(of: error)) + ": " + "\(error)".prefix(200)
    }
}
