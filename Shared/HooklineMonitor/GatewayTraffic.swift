import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One gateway's traffic as its `/metrics` tells it: requests by status class
/// (`hookline_gateway_requests_total{source,status}` summed into `2xx`, `4xx`, `5xx`, …),
/// records published (`hookline_gateway_messages_published_total`) and records awaiting the
/// broker's acknowledgement (`hookline_gateway_records_in_flight`).
package struct GatewayTraffic: Sendable, Hashable, Codable {
    package var url: String
    /// Whether its `/metrics` answered at the last look.
    package var up: Bool
    /// Requests by status class since the gateway started.
    package var requests: [String: Int64]
    package var published: Int64
    /// Records handed to its producer and not yet acknowledged or failed, at the last look: each
    /// is a request waiting for its answer.
    package var inFlight: Int64
    /// Why its `/metrics` did not answer at the last look (a timeout, a refused connection, a
    /// status other than 200); nil when it answered.
    package var error: String? = nil

    /// Reads Prometheus text exposition; unknown lines are ignored.
    package static func parse(_ text: String, url: String) -> GatewayTraffic {
        var traffic = GatewayTraffic(url: url, up: true, requests: [:], published: 0, inFlight: 0)
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            if series.hasPrefix("hookline_gateway_requests_total{"), let status = Self.label("status", in: series), let code = Int(status) {
                traffic.requests["\(code / 100)xx", default: 0] += Int64(value)
            } else if series.hasPrefix("hookline_gateway_messages_published_total") {
                traffic.published += Int64(value)
            } else if series == "hookline_gateway_records_in_flight" {
                traffic.inFlight = Int64(value)
            }
        }
        return traffic
    }

    private static func label(_ name: String, in series: Substring) -> Substring? {
        guard let start = series.range(of: "\(name)=\"") else { return nil }
        let rest = series[start.upperBound...]
        return rest.firstIndex(of: "\"").map { rest[..<$0] }
    }

    /// Every gateway's traffic, asked concurrently (each may take up to `timeout`, and a `dns+`
    /// name's lookup as long before), in the order of `urls`, a `dns+` URL read as one gateway per
    /// address of its name (see ``GatewayAddresses``); one whose name does not resolve is a
    /// gateway down under that URL.
    package static func fetchAll(_ urls: [String], timeout: Duration, resolve: @escaping GatewayAddresses.Resolve = GatewayAddresses.system) async -> [GatewayTraffic] {
        enum Look: Sendable {
            case read(String)
            case unresolved(url: String, because: String)
        }
        // The names first, then every gateway; each step concurrently.
        let expanded = await urls.concurrentMap { await GatewayAddresses.expand($0, timeout: timeout, resolve: resolve) }
        let looks = zip(urls, expanded).flatMap { url, addresses -> [Look] in
            switch addresses {
            case .success(let targets): targets.map(Look.read)
            case .failure(let error): [.unresolved(url: url, because: error.message)]
            }
        }
        return await looks.concurrentMap { look in
            switch look {
            case .read(let url): await Self.fetch(url, timeout: timeout)
            case .unresolved(let url, let reason): .down(url, because: reason)
            }
        }
    }

    /// Fetches and parses one gateway's metrics; a gateway that does not answer is `up: false`.
    static func fetch(_ url: String, timeout: Duration, client: HTTPClient = .shared) async -> GatewayTraffic {
        let metricsURL = url.hasSuffix("/metrics") ? url : url.hasSuffix("/") ? url + "metrics" : url + "/metrics"
        do {
            let response = try await client.execute(HTTPClientRequest(url: metricsURL), timeout: .nanoseconds(Int64(timeout.inSeconds * 1e9)))
            guard response.status == .ok else { return .down(url, because: "\(metricsURL) answered \(response.status.code)") }
            let body = try await response.body.collect(upTo: 4 * 1024 * 1024)
            return self.parse(String(buffer: body), url: url)
        } catch {
            return .down(url, because: "\(metricsURL): \(error)")
        }
    }

    static func down(_ url: String, because reason: String) -> GatewayTraffic {
        GatewayTraffic(url: url, up: false, requests: [:], published: 0, inFlight: 0, error: reason)
    }
}

extension Array where Element: Sendable {
    /// `map` with every element's transform running concurrently; the results in order.
    fileprivate func concurrentMap<T: Sendable>(_ transform: @escaping @Sendable (Element) async -> T) async -> [T] {
        await withTaskGroup(of: (Int, T).self) { group in
            for (index, element) in self.enumerated() {
                group.addTask { (index, await transform(element)) }
            }
            var results = [T?](repeating: nil, count: self.count)
            for await (index, result) in group { results[index] = result }
            return results.compactMap { $0 }
        }
    }
}
