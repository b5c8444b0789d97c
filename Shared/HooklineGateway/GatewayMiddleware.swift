import HooklineHTTP
import Hummingbird
import Logging

/// `/webhooks/<source>` with any method but POST, whichever (TRACE and PROPFIND included): 405
/// with `Allow: POST`. Routes would cover only the methods named in them, leaving the rest a 404.
struct WebhookMethodMiddleware<Context: RequestContext>: RouterMiddleware {
    let gateway: Gateway

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard request.method != .post, path.hasPrefix("/webhooks/") else { return try await next(request, context) }
        let source = path.dropFirst("/webhooks/".count)
        guard !source.isEmpty, !source.contains("/") else { return try await next(request, context) }
        return self.gateway.refuseMethod(source: source)
    }
}
