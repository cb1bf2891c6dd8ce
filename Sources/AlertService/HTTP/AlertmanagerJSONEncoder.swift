import Foundation
public import Hummingbird
import NIOCore

/// Writes the API's answers as Alertmanager does: `Content-Type:
/// application/json` and JSON with sorted keys and unescaped slashes (URLs in
/// `generatorURL` stay readable). The one place the API's JSON encoding is
/// configured; answers and errors both go through it.
public struct AlertmanagerJSONEncoder: ResponseEncoder {
    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        try Self.response(value)
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try data(value))))
    }

    static func data(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}
