import Foundation
import Hummingbird
import QueueCore

typealias QueueCoreJSON = JSONValue

/// What makes the dashboard safe to leave running, applied to every response:
/// the access token (when one is set), a strict Content-Security-Policy (scripts
/// and styles from /assets/ only, nothing inline, no framing), `nosniff`, and a
/// refusal of every change in `--readonly` mode.
struct SecurityMiddleware<Context: RequestContext>: RouterMiddleware {
    static var cookieName: String { "queuectl_token" }
    static var contentSecurityPolicy: String {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    }

    static var frameOptions: HTTPFields.Element.Name { HTTPFields.Element.Name("X-Frame-Options")! }
    static var referrerPolicy: HTTPFields.Element.Name { HTTPFields.Element.Name("Referrer-Policy")! }

    let token: String?
    let readonly: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await respond(request, context: context, next: next)
        } catch let error as HTTPError {
            response = WebResponse.text(error.body ?? error.status.reasonPhrase, status: error.status)
        } catch {
            response = WebResponse.text("internal error: \(error)", status: .internalServerError)
        }
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[Self.frameOptions] = "DENY"
        response.headers[Self.referrerPolicy] = "no-referrer"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }

    private func respond(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let token {
            // `/?token=T` once: the token moves into an HttpOnly cookie and out of the address bar.
            if let given = request.uri.queryParameters.get("token") {
                guard Self.same(given, token) else { return WebResponse.text("wrong token", status: .unauthorized) }
                var response = WebResponse.redirect(to: "/")
                response.setCookie(Cookie(name: Self.cookieName, value: token, path: "/", httpOnly: true, sameSite: .strict))
                return response
            }
            guard authorized(request, token: token) else {
                var response = WebResponse.text(
                    "a token is needed: open /?token=TOKEN once, or send the header Authorization: Bearer TOKEN",
                    status: .unauthorized)
                response.headers[.wwwAuthenticate] = "Bearer"
                return response
            }
        }
        if readonly, request.method != .get, request.method != .head {
            return WebResponse.text("read-only: this dashboard makes no changes", status: .forbidden)
        }
        var response = try await next(request, context)
        // HEAD routes share GET's handlers (`RouterMethods.read`): the body goes here.
        if request.method == .head { response.body = ResponseBody() }
        return response
    }

    private func authorized(_ request: Request, token: String) -> Bool {
        if let header = request.headers[.authorization], header.hasPrefix("Bearer "),
           Self.same(String(header.dropFirst("Bearer ".count)), token) {
            return true
        }
        if let cookie = request.cookies[Self.cookieName], Self.same(cookie.value, token) { return true }
        return false
    }

    /// Compares in time that does not depend on where the strings differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in x.indices { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

/// The few kinds of response the dashboard sends.
enum WebResponse {
    static func html(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        make(body, type: "text/html; charset=utf-8", status: status)
    }

    static func text(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        make(body.hasSuffix("\n") ? body : body + "\n", type: "text/plain; charset=utf-8", status: status)
    }

    static func json(_ value: QueueCoreJSON, status: HTTPResponse.Status = .ok) -> Response {
        make(value.serialized(pretty: false) + "\n", type: "application/json", status: status)
    }

    static func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    static func make(_ body: String, type: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
