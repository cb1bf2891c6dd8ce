@testable import AlertService
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Every write the API declares, found by listing its routes rather than by
/// name, so an endpoint added later is checked without editing this test.
@Suite("HTTP API writes and the bearer token")
struct BearerTokenCoverageTests {
    /// The routes `APIRouter.addRoutes` declares, with their methods; it serves nothing.
    final class RouteList: RouterMethods, @unchecked Sendable {
        typealias Context = APIRequestContext
        var routes: [(path: String, method: HTTPRequest.Method)] = []

        @discardableResult func on<Responder: HTTPResponder>(_ path: RouterPath, method: HTTPRequest.Method, responder: Responder) -> Self
        where Responder.Context == Context {
            routes.append((path.description, method))
            return self
        }

        func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self { self }
    }

    @Test("with server.api_token_file set, every route that changes state answers 401 without the token, and reads need none")
    func everyWriteNeedsTheToken() async throws {
        let tokenFile = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)").path
        try "s3cret\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tokenFile) }
        let runtime = try makeRuntime(extraConfig: "server: {api_token_file: \"\(tokenFile)\"}")
        let metrics = AlerterMetrics(alerter: runtime)
        let list = RouteList()
        APIRouter.addRoutes(to: list, runtime: runtime, metrics: metrics)
        let writes = list.routes.filter { ![.get, .head, .options].contains($0.method) }.map { (path: Self.concrete($0.path), method: $0.method) }
        let reads = list.routes.filter { $0.method == .get }.map { Self.concrete($0.path) }
        #expect(writes.count >= 3, "\(list.routes)")

        let app = Application(router: APIRouter.build(runtime: runtime, metrics: metrics))
        try await app.test(.router) { (client: any TestClientProtocol) async throws in
            for route in writes {
                #expect(try await client.request(route.path, route.method).0 == .unauthorized, "\(route.method) \(route.path)")
            }
            for path in reads {
                #expect(try await client.request(path).0 != .unauthorized, "GET \(path)")
            }
        }
    }

    /// A declared path with each parameter (`:id`) filled in.
    static func concrete(_ path: String) -> String {
        "/" + path.split(separator: "/").map { $0.hasPrefix(":") ? "x" : String($0) }.joined(separator: "/")
    }
}
