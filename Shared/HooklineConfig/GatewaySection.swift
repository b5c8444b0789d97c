/// `gateway:` — the HTTP side of every gateway replica.
package struct GatewaySection: Sendable, Hashable {
    /// `HOST:PORT` to listen on; `--listen` overrides it per replica. Default: `0.0.0.0:8080`
    package var listen: String = "0.0.0.0:8080"
    /// Largest body accepted; larger requests get 413 while being read. Default: `1048576`
    package var maxBodyBytes: Int = 1_048_576
    /// How long to wait for the broker's acknowledgement before answering 503. Default: `5000`
    package var ackTimeoutMs: Int = 5000
    /// How long a client may take to send its request before it is cut off. Default: `10000`
    package var requestTimeoutMs: Int = 10_000
    /// How long a kept-alive connection may wait for its next request. Longer than the 60 s a load
    /// balancer in front (AWS ALB, nginx) keeps an idle connection to a replica, so that the
    /// gateway never closes one just as the balancer sends on it. Default: `75000`
    package var idleTimeoutMs: Int = 75_000
    /// Most connections open at once; at the limit, accepting waits until one closes.
    /// Default: `4096`
    package var maxConnections: Int = 4096
    /// This replica's name in the `hookline-gateway` header. Default: the host name and port
    package var replicaID: String?
    /// How long SIGTERM waits for in-flight acknowledgements before exiting. Default: `10000`
    package var shutdownGraceMs: Int = 10_000

    package init() {}

    /// The largest Kafka record a gateway writes: a body of `max_body_bytes` and 64 KiB for its
    /// headers, key and framing (the CloudEvents headers and a key are a few hundred bytes). What
    /// producers of such records (the gateway's, a dead-letter redrive's) must be able to send.
    package var largestRecordBytes: Int {
        self.maxBodyBytes + 65_536
    }
}
