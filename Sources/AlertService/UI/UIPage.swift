import Foundation
import Hummingbird
import Mustache
import NIOCore

/// Renders the web UI's pages: the Mustache templates of `UITemplates`,
/// compiled once, in HTML mode, so every `{{value}}` is escaped (event data is
/// hostile input; no template uses `{{{ }}}`). Each page is a model struct
/// read by the templates through reflection (docs/ARCHITECTURE.md, Web UI).
enum UIPage {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, content) in UITemplates.pages {
            // The templates are constants of this module: one that does not parse is a programming error.
            do { try library.register(UITemplates.header + "\n" + content + "\n" + UITemplates.footer, named: name) } catch {
                fatalError("UI template \(name): \(error)")
            }
        }
        return library
    }()

    /// The page `template` filled from `model`, as an HTML response.
    static func render(_ template: String, _ model: Any) -> Response {
        let html = library.render(model, withTemplate: template) ?? ""
        return response(html, contentType: "text/html; charset=utf-8")
    }

    /// What every UI answer carries: no inline script or style may run
    /// (the CSP), no framing, no content sniffing, no caching of live state.
    static func response(_ text: String, contentType: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [
            .contentType: contentType,
            .contentSecurityPolicy: "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
            .xContentTypeOptions: "nosniff",
            .cacheControl: "no-store",
        ], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// `text` percent-encoded for a query value: everything but RFC 3986's unreserved characters.
    static func queryValue(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    /// A time as the UI shows it: RFC 3339 in UTC, to the second.
    static func time(_ date: Date) -> String {
        String(date.rfc3339Milliseconds.prefix(19)) + "Z"
    }
}
