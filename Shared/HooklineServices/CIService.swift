import AsyncHTTPClient
import Crypto
import Foundation
import GRDB
import HooklineConsumerKit
import HooklineHTTP
import HooklineKafka
import HooklineWebhooks
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// **ci**: build jobs from pushes and pull requests, one per (repository, commit, trigger) however
/// often the provider delivers. With a `trigger_url`, each new job is POSTed there by
/// ``CITrigger`` from an outbox table, so the HTTP call never runs inside a batch transaction.
package enum CIService {
    package static func make(prefix: String, triggers: Bool) -> ConsumerService {
        ConsumerService(
            name: "ci",
            topicPatterns: topicPatterns(prefix, #"[^.]+\.push$"#, #"[^.]+\.pull_request$"#),
            handlers: [
                "github.push": EventHandlerFunction { event, db in try githubPush(event, db, triggers: triggers) },
                "github.pull_request": EventHandlerFunction { event, db in try githubPullRequest(event, db, triggers: triggers) },
                "gitlab.push": EventHandlerFunction { event, db in try gitlabPush(event, db, triggers: triggers) },
            ],
            migrations: { migrator in
                migrator.registerMigration("ci-v1") { db in
                    try db.create(table: "builds") { t in
                        t.autoIncrementedPrimaryKey("id")
                        t.column("repository", .text).notNull()
                        t.column("ref", .text).notNull()
                        t.column("sha", .text).notNull()
                        t.column("trigger", .text).notNull()
                        t.column("status", .text).notNull()
                        t.column("attempts", .integer).notNull().defaults(to: 0)
                        t.column("created_at", .text).notNull()
                        t.uniqueKey(["repository", "sha", "trigger"])
                    }
                }
                migrator.registerMigration("ci-v2-retry-times") { db in
                    // Unix milliseconds before which a pending build is not sent again; null: now.
                    try db.alter(table: "builds") { t in t.add(column: "next_attempt_at", .integer) }
                }
            }
        )
    }

    /// The `Idempotency-Key` a build is triggered under: its own key (repository, commit, trigger)
    /// hashed, the same however often it is sent, and also after the database is rebuilt from
    /// the topics (where row ids are given out again, to other builds).
    package static func idempotencyKey(repository: String, sha: String, trigger: String) -> String {
        let digest = SHA256.hash(data: Array("\(repository)\u{0}\(sha)\u{0}\(trigger)".utf8))
        return "hookline-ci-" + Hex.encode(digest.prefix(16))
    }

    package enum Status: String, Codable, Sendable {
        /// Recorded only (no trigger URL configured).
        case recorded
        /// Waiting to be POSTed to the trigger URL.
        case pending
        case triggered
        /// The trigger URL refused the request itself (400, 413, 422), or did not take it within
        /// the retry window (``CITrigger/RetryPolicy/window``).
        case triggerFailed = "trigger_failed"
    }

    package struct Build: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
        package static let databaseTableName = "builds"
        package var id: Int64?
        package var repository: String
        package var ref: String
        package var sha: String
        package var trigger: String
        package var status: Status
        package var attempts: Int
        package var createdAt: String
        /// While pending after a failed attempt: Unix milliseconds before which it is not sent again.
        package var nextAttemptAt: Int64?

        enum CodingKeys: String, CodingKey {
            case id, repository, ref, sha, trigger, status, attempts
            case createdAt = "created_at", nextAttemptAt = "next_attempt_at"
        }

        package mutating func didInsert(_ inserted: InsertionSuccess) {
            self.id = inserted.rowID
        }
    }

    /// Records the job unless the same (repository, sha, trigger) already has one.
    static func record(repository: String, ref: String, sha: String, trigger: String, triggers: Bool, _ db: Database) throws {
        var build = Build(
            repository: repository, ref: ref, sha: sha, trigger: trigger, status: triggers ? .pending : .recorded,
            attempts: 0, createdAt: iso8601(seconds: Int64(Date().timeIntervalSince1970))
        )
        try build.insert(db, onConflict: .ignore)
    }

    private struct GitHubPush: Decodable {
        var ref: String
        var after: String
        var deleted: Bool?
        var repository: Repository
        struct Repository: Decodable { var full_name: String }
    }

    private static func githubPush(_ event: ConsumerEvent, _ db: Database, triggers: Bool) throws {
        let push = try event.json(GitHubPush.self)
        // A deleted branch has nothing to build.
        guard push.deleted != true, push.after != String(repeating: "0", count: 40) else { return }
        try record(repository: push.repository.full_name, ref: push.ref, sha: push.after, trigger: "push", triggers: triggers, db)
    }

    private struct GitHubPullRequest: Decodable {
        var action: String
        var pull_request: PullRequest
        var repository: GitHubPush.Repository
        struct PullRequest: Decodable {
            var head: Head
            struct Head: Decodable { var ref: String; var sha: String }
        }
    }

    private static func githubPullRequest(_ event: ConsumerEvent, _ db: Database, triggers: Bool) throws {
        let pr = try event.json(GitHubPullRequest.self)
        guard ["opened", "synchronize", "reopened"].contains(pr.action) else { return }
        try record(
            repository: pr.repository.full_name, ref: pr.pull_request.head.ref, sha: pr.pull_request.head.sha,
            trigger: "pull_request", triggers: triggers, db
        )
    }

    private struct GitLabPush: Decodable {
        var ref: String
        var checkout_sha: String?
        var after: String?
        var project: Project
        struct Project: Decodable { var path_with_namespace: String }
    }

    private static func gitlabPush(_ event: ConsumerEvent, _ db: Database, triggers: Bool) throws {
        let push = try event.json(GitLabPush.self)
        guard let sha = push.checkout_sha ?? push.after, sha != String(repeating: "0", count: 40) else { return }
        try record(repository: push.project.path_with_namespace, ref: push.ref, sha: sha, trigger: "push", triggers: triggers, db)
    }

    /// `GET /builds?limit=&offset=` → `{"total", "items"}`, newest first.
    package static func routes(_ router: Router<BasicRequestContext>, reader: any DatabaseReader) {
        router.get("/builds") { request, _ -> Response in
            guard let page = Page(request) else { return .badPage }
            let (total, items) = try await reader.read { db in
                (try Build.fetchCount(db), try Build.order(Column("id").desc).limit(page.limit, offset: page.offset).fetchAll(db))
            }
            return .json(Listing(total: total, items: items))
        }
    }
}

/// POSTs pending build jobs to the trigger URL, with retries: `{"id","repository","ref","sha","trigger"}`
/// and an `Idempotency-Key` of its repository, commit and trigger (``CIService/idempotencyKey(repository:sha:trigger:)``),
/// so a retry the CI server already saw is harmless.
///
/// A build the CI server did not take is sent again after a wait that doubles from
/// ``RetryPolicy/first`` up to ``RetryPolicy/longest`` (or what its `Retry-After` asks in seconds,
/// when longer; its HTTP-date form is not read),
/// until ``RetryPolicy/window`` after the build was recorded: a CI server down for an hour, or
/// refusing a token until an operator rotates it (401, 403), still gets every build. Only a
/// refusal of the request itself (400, 413, 422) is final at once. The wait is kept in the
/// database (`next_attempt_at`), so it holds across restarts, and one waiting build does not hold
/// up the others.
///
/// Graceful shutdown cancels the work in hand: the POST waiting for an answer (up to 10 s each),
/// so SIGTERM is not held up by a CI server that does not answer (compose gives a service 30 s to
/// stop). A build whose POST was cut short stays pending, that attempt not counted, and is sent
/// again at the next start under the same key.
///
/// Instances of the service sharing one database may both send a pending build (the key makes the
/// second harmless to the CI server); each records its outcome only over the state it read, so
/// the first outcome recorded stands.
package struct CITrigger: Service {
    /// How long a build is retried, and how often.
    package struct RetryPolicy: Sendable {
        /// The wait after the first failed attempt; it doubles with each attempt after.
        package var first: Duration = .seconds(1)
        /// The longest wait between two attempts (a `Retry-After` may ask for up to an hour).
        package var longest: Duration = .seconds(300)
        /// How long after the build was recorded it is still sent: then it is `trigger_failed`.
        package var window: Duration = .seconds(24 * 3600)

        package init(first: Duration = .seconds(1), longest: Duration = .seconds(300), window: Duration = .seconds(24 * 3600)) {
            self.first = first
            self.longest = longest
            self.window = window
        }

        /// The wait after `attempts` failed attempts, or `retryAfter` when that is longer (at most an hour).
        func wait(afterAttempts attempts: Int, retryAfter: Duration?) -> Duration {
            let doubled = self.first * (1 << min(max(attempts - 1, 0), 20))
            return max(min(doubled, self.longest), min(retryAfter ?? .zero, .seconds(3600)))
        }
    }

    let url: String
    let writer: any DatabaseWriter
    let logger: Logger
    let retry: RetryPolicy

    package init(url: String, writer: any DatabaseWriter, logger: Logger, retry: RetryPolicy = RetryPolicy()) {
        self.url = url
        self.writer = writer
        self.logger = logger
        self.retry = retry
    }

    package func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.triggerPending() }
        } catch where Task.isShuttingDownGracefully || Task.isCancelled {
            // Cancelled mid-read or mid-write by the shutdown: nothing was half done.
        }
    }

    private static func nowMilliseconds() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1000)
    }

    private func triggerPending() async throws {
        while !Task.isCancelled {
            let now = Self.nowMilliseconds()
            let due = try await self.writer.read { db in
                try CIService.Build
                    .filter(Column("status") == CIService.Status.pending.rawValue)
                    .filter(Column("next_attempt_at") == nil || Column("next_attempt_at") <= now)
                    // New builds first, then the longest due: builds retried often (their waits
                    // short) do not keep one later in line from its turn.
                    .order(SQL("COALESCE(next_attempt_at, 0)"), Column("id")).limit(20).fetchAll(db)
            }
            for build in due where !Task.isCancelled { await self.trigger(build) }
            try? await Task.sleep(for: due.isEmpty ? .milliseconds(500) : .zero)
        }
    }

    /// Writes the outcome of one attempt only over the state the attempt started from (status and
    /// attempts as read): instances sharing the database read the same pending builds, and one's
    /// refusal (a 503) written over another's `triggered` would send the build again. False when
    /// the row had moved on.
    private static func record(_ build: CIService.Build, over read: CIService.Build, _ db: Database) throws -> Bool {
        try db.execute(
            sql: "UPDATE builds SET status = ?, attempts = ?, next_attempt_at = ? WHERE id = ? AND status = ? AND attempts = ?",
            arguments: [build.status.rawValue, build.attempts, build.nextAttemptAt, build.id, read.status.rawValue, read.attempts]
        )
        return db.changesCount > 0
    }

    /// Statuses that refuse the request itself: sending it again cannot help.
    private static let finalStatuses: Set<UInt> = [400, 413, 422]

    private func trigger(_ original: CIService.Build) async {
        var build = original
        let buildID = "\(build.id ?? 0)"
        var request = HTTPClientRequest(url: self.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: CIService.idempotencyKey(repository: build.repository, sha: build.sha, trigger: build.trigger))
        let payload: [String: String] = [
            "id": String(build.id ?? 0), "repository": build.repository, "ref": build.ref, "sha": build.sha, "trigger": build.trigger,
        ]
        request.body = .bytes(ByteBuffer(bytes: (try? JSONEncoder().encode(payload)) ?? Data()))
        var retryAfter: Duration?
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            build.attempts += 1
            if (200..<300).contains(response.status.code) {
                build.status = .triggered
            } else if Self.finalStatuses.contains(response.status.code) {
                build.status = .triggerFailed
                self.logger.error(
                    "the CI server refused a build: not sent again",
                    metadata: ["hookline.build": "\(buildID)", "http.status": "\(response.status.code)"]
                )
            } else {
                retryAfter = response.headers.first(name: "Retry-After").flatMap { Int64($0) }.map { .seconds($0) }
                self.logger.warning(
                    "build trigger refused; sent again later",
                    metadata: ["hookline.build": "\(buildID)", "http.status": "\(response.status.code)", "attempts": "\(build.attempts)"]
                )
            }
        } catch {
            // Cut short by the shutdown: no answer, no attempt; the build stays as it was.
            guard !Task.isCancelled else { return }
            build.attempts += 1
            self.logger.warning("build trigger failed; sent again later", metadata: ["hookline.build": "\(buildID)", "error": "\(error)", "attempts": "\(build.attempts)"])
        }
        if build.status == .pending {
            let wait = self.retry.wait(afterAttempts: build.attempts, retryAfter: retryAfter)
            let next = Self.nowMilliseconds() + wait.milliseconds
            let recordedAt = RFC3339.milliseconds(build.createdAt) ?? Self.nowMilliseconds()
            if next > recordedAt + self.retry.window.milliseconds {
                build.status = .triggerFailed
                self.logger.error(
                    "build not taken by the CI server within the retry window: not sent again",
                    metadata: ["hookline.build": "\(buildID)", "attempts": "\(build.attempts)", "hookline.window_seconds": "\(self.retry.window.components.seconds)"]
                )
            } else {
                build.nextAttemptAt = next
            }
        }
        if build.status != .pending { build.nextAttemptAt = nil }
        let (read, updated) = (original, build)
        // An answer the CI server gave is recorded even when the shutdown came meanwhile: the
        // write runs in a task of its own, which the cancellation does not reach.
        let recorded = await Task { try await self.writer.write { db in try Self.record(updated, over: read, db) } }.result
        switch recorded {
        case .success(false):
            self.logger.debug("build outcome not recorded: another instance recorded one first", metadata: ["hookline.build": "\(buildID)"])
        case .failure(let error):
            // The build stays due as it was: without a pause it would be sent again at once.
            self.logger.error("build outcome not recorded; the database refused it", metadata: ["hookline.build": "\(buildID)", "error": "\(error)"])
            try? await Task.sleep(for: self.retry.wait(afterAttempts: build.attempts, retryAfter: retryAfter))
        case .success(true):
            break
        }
    }
}
