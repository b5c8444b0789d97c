import Foundation
import Hummingbird
import Logging

/// Every error that escapes a route, and every unmatched path or method, answered as
/// `{"error","message"}`: the shape every Hookline process gives its errors in, where
/// Hummingbird would answer an empty 404 or 500.
package struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    package init() {}

    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            let code = error.status == .notFound ? "not_found" : "http_\(error.status.code)"
            return .jsonError(error.status, code: code, message: error.status.reasonPhrase)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)"])
            return .jsonError(.internalServerError, code: "internal_error", message: "This request could not be handled.")
        }
    }
}

extension Response {
    /// `value` as JSON (keys sorted, slashes as they are) with `status`.
    package static func json(status: HTTPResponse.Status = .ok, _ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":"encoding_failed"}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `{"error": code, "message": message}` with `status`.
    package static func jsonError(_ status: HTTPResponse.Status, code: String, message: String) -> Response {
        .json(status: status, ["error": code, "message": message])
    }
}
