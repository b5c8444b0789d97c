import Foundation
import HooklineMonitor
import HooklineTestSupport
import Testing

/// `dns+http://NAME:PORT`: every address of NAME read as a gateway of its own.
@Suite("Gateways behind one name")
struct GatewayAddressesTests {
    @Test("a URL without dns+ is read as it is; with it, one URL per address, sorted, port and path kept, IPv4 ones when the name has any, else IPv6 in brackets; a name that does not resolve, or not in time, is an error naming it")
    func expand() async throws {
        let resolve: GatewayAddresses.Resolve = { host in
            switch host {
            case "replicas": return ["10.89.0.7", "10.89.0.5", "fd00::2", "10.89.0.5"]
            case "v6": return ["fd00::2", "fd00::1"]
            case "slow":
                try await Task.sleep(for: .seconds(10))
                return ["10.89.0.9"]
            case "nothing": return []
            default: throw GatewayAddressError(message: "Name or service not known")
            }
        }
        #expect(try await GatewayAddresses.expand("http://replicas:8080", timeout: .seconds(2), resolve: resolve).get() == ["http://replicas:8080"])
        #expect(
            try await GatewayAddresses.expand("dns+http://replicas:8080/metrics", timeout: .seconds(2), resolve: resolve).get()
                == ["http://10.89.0.5:8080/metrics", "http://10.89.0.7:8080/metrics"]
        )
        #expect(try await GatewayAddresses.expand("dns+http://v6:8080", timeout: .seconds(2), resolve: resolve).get() == ["http://[fd00::1]:8080", "http://[fd00::2]:8080"])
        for (url, message) in [
            ("dns+http://gone:8080", "gone (dns+http://gone:8080) does not resolve: Name or service not known"),
            ("dns+http://nothing:8080", "nothing (dns+http://nothing:8080) has no address"),
        ] {
            guard case .failure(let error) = await GatewayAddresses.expand(url, timeout: .seconds(2), resolve: resolve) else {
                Issue.record("\(url) resolved")
                continue
            }
            #expect(error.message == message)
        }
        // A resolver that does not answer: given up after the timeout, without waiting for it.
        let started = ContinuousClock.now
        guard case .failure(let slow) = await GatewayAddresses.expand("dns+http://slow:8080", timeout: .milliseconds(200), resolve: resolve) else {
            Issue.record("a lookup of 10 s resolved within 200 ms")
            return
        }
        #expect(slow.message == "slow (dns+http://slow:8080) does not resolve: no answer within 0.2 s")
        #expect(ContinuousClock.now - started < .seconds(5))
        // The system's resolver: /etc/hosts names localhost; a numeric host is itself. A generous
        // timeout: with the whole suite running on two cores, one lookup once took over 2 s.
        #expect(try await GatewayAddresses.expand("dns+http://localhost:9", timeout: .seconds(15), resolve: GatewayAddresses.system).get().contains("http://127.0.0.1:9"))
        #expect(try await GatewayAddresses.expand("dns+http://127.0.0.7:9", timeout: .seconds(15), resolve: GatewayAddresses.system).get() == ["http://127.0.0.7:9"])
    }

    @Test("two gateways behind one name are read apart, each with its own counters; one that stops is down under its own address, and an unresolved name is down under its URL")
    func replicasReadApart() async throws {
        let broker = try await TestKafka.broker()
        let configuration = gatewayConfiguration(broker: broker, sources: ["github": source("github", secrets: ["s3cret"])])
        // Two replicas on one port of two loopback addresses, as a service's containers are.
        let first = try await RunningGateway.start(configuration, listen: "127.0.0.2:0")
        let second = try await RunningGateway.start(configuration, listen: "127.0.0.3:\(first.port)")
        let resolve: GatewayAddresses.Resolve = { host in
            guard host == "replicas" else { throw GatewayAddressError(message: "unknown") }
            return ["127.0.0.3", "127.0.0.2"]
        }
        for (gateway, count) in [(first, 2), (second, 1)] {
            for _ in 0..<count {
                let response = try await post(gateway, source: "github", provider: "github", secret: "s3cret", body: Array(#"{"zen":"hi"}"#.utf8), event: "ping")
                #expect(response.status == 202)
            }
        }
        let urls = ["dns+http://replicas:\(first.port)", "dns+http://unknown:\(first.port)"]
        let both = await GatewayTraffic.fetchAll(urls, timeout: .seconds(2), resolve: resolve)
        #expect(both.map(\.url) == [first.baseURL, second.baseURL, urls[1]])
        #expect(both.map(\.up) == [true, true, false])
        #expect(both.map { $0.requests["2xx"] } == [2, 1, nil])
        #expect(both.map(\.published) == [2, 1, 0])
        #expect(both[2].error == "unknown (\(urls[1])) does not resolve: unknown")

        await second.stop()
        let one = await GatewayTraffic.fetchAll(Array(urls.prefix(1)), timeout: .seconds(2), resolve: resolve)
        #expect(one.map(\.url) == [first.baseURL, second.baseURL])
        #expect(one.map(\.up) == [true, false])
        await first.stop()
    }
}
