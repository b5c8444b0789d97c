extension HooklineConfiguration {
    /// The consumer group of every configured service (`services.<name>.group`, default
    /// `hookline-<name>`, as the consumer services name it): the groups the monitor and
    /// `hookline lag` look for even when the cluster does not list them.
    package var serviceGroups: [String] {
        self.services.map { name, section in section.groupID(service: name) }.sorted()
    }
}
