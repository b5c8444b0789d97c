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

/// Every error that escapes a route, and every unmatched path, answered in the gateway's JSON shape.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            let code = error.status == .notFound ? "not_found" : "http_\(error.status.code)"
            return .jsonError(error.status, code: code, message: error.status.reasonPhrase)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            return .jsonError(.internalServerError, code: "internal_error", message: "The gateway failed to handle this request.")
        }
    }
}
