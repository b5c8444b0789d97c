import ArgumentParser

/// `hookline dlq`: look at and redrive a consumer service's dead-letter topic `<prefix>.dlq.<service>`.
struct DLQ: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "List, show and redrive a consumer service's dead letters.",
        discussion: """
            A service's events that failed permanently (or past services.<name>.max_attempts) are \
            in <kafka.topic_prefix>.dlq.<service>, with the original key, value and headers plus \
            hookline-dlq-reason, -source-topic, -source-partition, -source-offset and -attempts. \
            Redrive progress is the committed offset of the group hookline-dlq-redrive-<service>.
            """,
        subcommands: [DLQList.self, DLQShow.self, DLQRedrive.self]
    )
}
