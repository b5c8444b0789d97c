import ArgumentParser

/// `hookline`: send test webhooks, watch lag, inspect topics, replay a group, work the
/// dead-letter topics. Every subcommand takes `--json` for scripting.
///
/// Exit codes: 0 done; 1 failed (the message says why); 64 wrong usage; 3 refused because
/// the cluster is not in a state where the command is safe (e.g. a group still has members);
/// 78 configuration error.
@main
struct Hookline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hookline",
        abstract: "Send, watch, replay and repair Hookline's webhooks on Kafka.",
        subcommands: [Send.self, Tail.self, Lag.self, Topics.self, Replay.self, DLQ.self]
    )
}
