import CRdKafka
import Foundation
import Logging
import Synchronization

/// Topic and group administration: everything needed to create topics and compute lag.
public final class KafkaAdmin: Sendable {
    private let client: RDKafkaClient
    private let poller: PollThread
    /// Checks the end offsets a broker may list short (the embedded one), `nil` when not to.
    private let endProbe: EndOffsetProbe?
    /// How long one admin request may take. Default: 10 seconds
    public let requestTimeout: Duration

    public convenience init(configuration: KafkaConfiguration, requestTimeout: Duration = .seconds(10), logger: Logger) throws(KafkaError) {
        try self.init(configuration: configuration, requestTimeout: requestTimeout, checksDatedEnds: true, logger: logger)
    }

    /// - Parameter checksDatedEnds: whether a dated "latest" answer is checked by a fetch
    ///   (``listOffsetsOfEach(_:_:isolationLevel:)``); off only to see what a broker lists.
    package init(configuration: KafkaConfiguration, requestTimeout: Duration = .seconds(10), checksDatedEnds: Bool, logger: Logger) throws(KafkaError) {
        let client = try RDKafkaClient(kind: .producer, properties: Self.properties(configuration), logger: logger)
        self.client = client
        self.requestTimeout = requestTimeout
        self.endProbe = checksDatedEnds ? EndOffsetProbe(kafka: configuration, timeout: min(requestTimeout, .seconds(3)), logger: logger) : nil
        // Serves logs and error callbacks; admin results arrive on their own queues.
        self.poller = PollThread(name: "kafka-admin") { rd_kafka_poll(client.handle, 100) }
    }

    deinit {
        self.client.destroyInBackground(after: self.poller.stop)
    }

    private static func properties(_ configuration: KafkaConfiguration) -> [String: String] {
        var properties = configuration.librdkafkaProperties
        properties.merge(configuration.properties) { _, user in user }
        return properties
    }

    /// Checks the librdkafka properties as an admin client would be made with them, without
    /// contacting a broker.
    public static func validate(_ configuration: KafkaConfiguration) throws(KafkaError) {
        try RDKafkaClient.validate(kind: .producer, properties: Self.properties(configuration))
    }

    // MARK: Topics

    /// A topic to create.
    public struct NewTopic: Sendable, Hashable {
        public var name: String
        public var partitions: Int32
        public var replicationFactor: Int32
        /// Topic-level configuration, e.g. `retention.ms`.
        public var config: [String: String]

        public init(name: String, partitions: Int32 = 1, replicationFactor: Int32 = 1, config: [String: String] = [:]) {
            self.name = name
            self.partitions = partitions
            self.replicationFactor = replicationFactor
            self.config = config
        }
    }

    /// Creates the topics that do not exist yet. A topic that already exists is not an error.
    ///
    /// Nor is a creation refused for topics that exist: a cluster whose topics are made by its
    /// operators may let Hookline write to them and not create them, and Kafka then answers
    /// `TOPIC_AUTHORIZATION_FAILED` before it looks whether the topic exists. After a refusal
    /// the cluster's metadata is asked; when every topic is there, the call succeeds (the
    /// refusal logged at info).
    public func createTopics(_ topics: [NewTopic]) async throws(KafkaError) {
        do {
            try await self.requestCreation(of: topics)
        } catch {
            // A cluster that does not answer (or a wait cancelled) refused nothing: no look, which
            // would wait out the request timeout again.
            guard !error.isRetriable, ![.interrupted, .timedOut, .transport, .allBrokersDown, .closed].contains(error.code) else { throw error }
            let names = Set(topics.map(\.name))
            guard let existing = try? await self.listTopics(), names.isSubset(of: existing.map(\.name)) else { throw error }
            self.client.logger.info("topic creation refused, but the topics exist: using them", metadata: ["kafka.topics": "\(names.sorted())", "kafka.error": "\(error)"])
        }
    }

    private func requestCreation(of topics: [NewTopic]) async throws(KafkaError) {
        guard !topics.isEmpty else { return }
        let operation = "creating topics \(topics.map(\.name).joined(separator: ", "))"
        try await self.request(operation) { handle, options, queue -> Result<Void, KafkaError> in
            let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: 512)
            defer { errorBuffer.deallocate() }
            var newTopics: [OpaquePointer?] = []
            defer { newTopics.forEach { rd_kafka_NewTopic_destroy($0) } }
            for topic in topics {
                guard let newTopic = rd_kafka_NewTopic_new(topic.name, topic.partitions, topic.replicationFactor, errorBuffer, 512) else {
                    return .failure(.configuration("topic \(topic.name): \(String(cString: errorBuffer))"))
                }
                newTopics.append(newTopic)
                for (key, value) in topic.config {
                    rd_kafka_NewTopic_set_config(newTopic, key, value)
                }
            }
            newTopics.withUnsafeMutableBufferPointer {
                rd_kafka_CreateTopics(handle, $0.baseAddress, $0.count, options, queue)
            }
            return .success(())
        } parse: { event -> Result<Void, KafkaError> in
            var count = 0
            let results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count)
            for index in 0..<count {
                let err = rd_kafka_topic_result_error(results![index])
                if err != RD_KAFKA_RESP_ERR_NO_ERROR, err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                    let name = String(cString: rd_kafka_topic_result_name(results![index]))
                    let message = rd_kafka_topic_result_error_string(results![index]).map { String(cString: $0) }
                    var error = KafkaError(err, operation: "creating topic \(name)")
                    if let message { error.message = message }
                    return .failure(error)
                }
            }
            return .success(())
        }
    }

    /// Deletes topics. A topic that does not exist is not an error.
    public func deleteTopics(_ names: [String]) async throws(KafkaError) {
        guard !names.isEmpty else { return }
        try await self.request("deleting topics \(names.joined(separator: ", "))") { handle, options, queue -> Result<Void, KafkaError> in
            var deletes = names.map { rd_kafka_DeleteTopic_new($0) }
            defer { deletes.forEach { rd_kafka_DeleteTopic_destroy($0) } }
            deletes.withUnsafeMutableBufferPointer {
                rd_kafka_DeleteTopics(handle, $0.baseAddress, $0.count, options, queue)
            }
            return .success(())
        } parse: { event -> Result<Void, KafkaError> in
            var count = 0
            let results = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event), &count)
            for index in 0..<count {
                let err = rd_kafka_topic_result_error(results![index])
                if err != RD_KAFKA_RESP_ERR_NO_ERROR, err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART {
                    return .failure(KafkaError(err, operation: "deleting topic \(String(cString: rd_kafka_topic_result_name(results![index])))"))
                }
            }
            return .success(())
        }
    }

    /// A topic and its partitions, from the cluster's metadata.
    public struct TopicMetadata: Sendable, Hashable {
        public var name: String
        public var partitions: [Int32]

        /// Each partition, named with its topic.
        public var topicPartitions: [TopicPartition] {
            self.partitions.map { TopicPartition(topic: self.name, partition: $0) }
        }
    }

    /// Every topic in the cluster (internal `__` topics left out), sorted by name.
    public func listTopics() async throws(KafkaError) -> [TopicMetadata] {
        let client = self.client
        let timeout = Int32(clamping: self.requestTimeout.milliseconds)
        let result: Result<[TopicMetadata], KafkaError> = await RDKafkaClient.blocking {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let err = rd_kafka_metadata(client.handle, 1, nil, &metadata, timeout)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                return .failure(KafkaError(err, operation: "listing topics"))
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            var topics: [TopicMetadata] = []
            for index in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[index]
                let name = String(cString: topic.topic)
                guard !name.hasPrefix("__"), topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                let partitions = (0..<Int(topic.partition_cnt)).map { topic.partitions[$0].id }.sorted()
                topics.append(TopicMetadata(name: name, partitions: partitions))
            }
            return .success(topics.sorted { $0.name < $1.name })
        }
        return try result.get()
    }

    /// Each topic's id (KIP-516) as 32 hex digits: a topic deleted and created again under its
    /// name has a new one. A topic the cluster does not describe (it does not exist), or describes
    /// without an id (a broker without topic ids answers zeros), is left out.
    public func topicIDs(_ topics: [String]) async throws(KafkaError) -> [String: String] {
        guard !topics.isEmpty else { return [:] }
        return try await self.request("describing topics") { handle, options, queue in
            let names = topics.map { UnsafePointer<CChar>(strdup($0)) }
            defer { names.forEach { free(UnsafeMutableRawPointer(mutating: $0)) } }
            var pointers = names
            let collection = pointers.withUnsafeMutableBufferPointer { rd_kafka_TopicCollection_of_topic_names($0.baseAddress, $0.count) }
            defer { rd_kafka_TopicCollection_destroy(collection) }
            rd_kafka_DescribeTopics(handle, collection, options, queue)
            return .success(())
        } parse: { event in
            var count = 0
            let descriptions = rd_kafka_DescribeTopics_result_topics(rd_kafka_event_DescribeTopics_result(event), &count)
            var ids: [String: String] = [:]
            for index in 0..<count {
                guard let description = descriptions?[index] else { continue }
                if let error = rd_kafka_TopicDescription_error(description), rd_kafka_error_code(error) != RD_KAFKA_RESP_ERR_NO_ERROR { continue }
                guard let id = rd_kafka_TopicDescription_topic_id(description) else { continue }
                let (high, low) = (UInt64(bitPattern: rd_kafka_Uuid_most_significant_bits(id)), UInt64(bitPattern: rd_kafka_Uuid_least_significant_bits(id)))
                guard high != 0 || low != 0 else { continue }
                ids[String(cString: rd_kafka_TopicDescription_name(description))] = Self.hex(high) + Self.hex(low)
            }
            return .success(ids)
        }
    }

    /// 16 lowercase hex digits.
    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// A topic's configuration as the cluster reports it: every entry it has a value for, its
    /// own settings and the defaults it takes.
    public func topicConfig(_ topic: String) async throws(KafkaError) -> [String: String] {
        try await self.request("describing the configuration of topic \(topic)") { handle, options, queue in
            var resources = [rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic)]
            defer { resources.forEach { rd_kafka_ConfigResource_destroy($0) } }
            resources.withUnsafeMutableBufferPointer {
                rd_kafka_DescribeConfigs(handle, $0.baseAddress, $0.count, options, queue)
            }
            return .success(())
        } parse: { event in
            var count = 0
            let resources = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(event), &count)
            guard count == 1, let resource = resources?[0] else {
                return .failure(KafkaError(code: .unknownTopicOrPartition, message: "no answer for the topic", operation: "describing the configuration of topic \(topic)"))
            }
            let err = rd_kafka_ConfigResource_error(resource)
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                return .failure(KafkaError(err, operation: "describing the configuration of topic \(topic)"))
            }
            var entryCount = 0
            let entries = rd_kafka_ConfigResource_configs(resource, &entryCount)
            var config: [String: String] = [:]
            for index in 0..<entryCount {
                guard let entry = entries?[index], let value = rd_kafka_ConfigEntry_value(entry) else { continue }
                config[String(cString: rd_kafka_ConfigEntry_name(entry))] = String(cString: value)
            }
            return .success(config)
        }
    }

    /// The cluster's id, as its metadata gives it.
    public func clusterID() async -> String? {
        let client = self.client
        let timeout = Int32(clamping: self.requestTimeout.milliseconds)
        return await RDKafkaClient.blocking {
            guard let id = rd_kafka_clusterid(client.handle, timeout) else { return nil }
            defer { rd_kafka_mem_free(client.handle, id) }
            return String(cString: id)
        }
    }

    // MARK: Offsets

    /// Which offset of a partition ``listOffsets(_:_:isolationLevel:)`` asks for.
    public enum OffsetSpec: Sendable {
        /// The first offset still in the log.
        case earliest
        /// The end of the log: the offset the next record will get (the high watermark,
        /// or the last stable offset under read_committed).
        case latest
        /// The first offset whose record's timestamp is at or after this time, in Unix
        /// milliseconds (≥ 0). A partition with no such record answers `-1`.
        case timestamp(Int64)

        /// What librdkafka's list takes as the offset: a negative `rd_kafka_OffsetSpec_t`, or
        /// the timestamp itself.
        var value: Int64 {
            switch self {
            case .earliest: Int64(RD_KAFKA_OFFSET_SPEC_EARLIEST.rawValue)
            case .latest: Int64(RD_KAFKA_OFFSET_SPEC_LATEST.rawValue)
            case .timestamp(let milliseconds): max(milliseconds, 0)
            }
        }
    }

    /// Earliest, end or by-timestamp offsets of these partitions, read at the isolation level
    /// given (stated explicitly: there is no hidden default). Throws when any partition's offset
    /// could not be read (see ``listOffsetsOfEach(_:_:isolationLevel:)``).
    public func listOffsets(
        _ partitions: [TopicPartition],
        _ spec: OffsetSpec,
        isolationLevel: KafkaIsolationLevel
    ) async throws(KafkaError) -> [TopicPartition: Int64] {
        let results = try await self.listOffsetsOfEach(partitions, spec, isolationLevel: isolationLevel)
        var offsets: [TopicPartition: Int64] = [:]
        for partition in partitions {
            guard let result = results[partition] else { continue }
            offsets[partition] = try result.get()
        }
        return offsets
    }

    /// Like ``listOffsets(_:_:isolationLevel:)``, with each partition's own outcome: a partition
    /// whose leader is down (or that does not exist) fails alone, and the others still answer.
    /// Throws only when the request as a whole fails.
    ///
    /// An end the broker dates is checked by a fetch (``EndOffsetProbe``): the embedded broker
    /// dates its "latest" answers, and lists them short after records written in batches. Apache
    /// Kafka does not date them, and is asked nothing more.
    public func listOffsetsOfEach(
        _ partitions: [TopicPartition],
        _ spec: OffsetSpec,
        isolationLevel: KafkaIsolationLevel
    ) async throws(KafkaError) -> [TopicPartition: Result<Int64, KafkaError>] {
        var (offsets, dated) = try await self.listOffsetsAsAnswered(partitions, spec, isolationLevel: isolationLevel)
        guard case .latest = spec, let probe = self.endProbe, !dated.isEmpty else { return offsets }
        var listed: [TopicPartition: Int64] = [:]
        for partition in dated { listed[partition] = try? offsets[partition]?.get() }
        let cancelled = CancellationFlag()
        let ends = await withTaskCancellationHandler {
            await probe.ends(listed, isolationLevel: isolationLevel, cancelled: cancelled)
        } onCancel: {
            cancelled.set()
        }
        for (partition, end) in ends { offsets[partition] = .success(end) }
        return offsets
    }

    /// The offsets as the broker answered them, and the partitions whose answer came with a
    /// timestamp.
    private func listOffsetsAsAnswered(
        _ partitions: [TopicPartition],
        _ spec: OffsetSpec,
        isolationLevel: KafkaIsolationLevel
    ) async throws(KafkaError) -> (offsets: [TopicPartition: Result<Int64, KafkaError>], dated: Set<TopicPartition>) {
        guard !partitions.isEmpty else { return ([:], []) }
        return try await self.request("listing offsets") { handle, options, queue in
            let level = isolationLevel == .readCommitted ? RD_KAFKA_ISOLATION_LEVEL_READ_COMMITTED : RD_KAFKA_ISOLATION_LEVEL_READ_UNCOMMITTED
            if let error = rd_kafka_AdminOptions_set_isolation_level(options, level) {
                return .failure(KafkaError(consuming: error, operation: "setting the isolation level"))
            }
            let list = RDKafkaClient.makePartitionList(partitions.map { ($0, spec.value) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            rd_kafka_ListOffsets(handle, list, options, queue)
            return .success(())
        } parse: { event in
            var count = 0
            let infos = rd_kafka_ListOffsets_result_infos(rd_kafka_event_ListOffsets_result(event), &count)
            var offsets: [TopicPartition: Result<Int64, KafkaError>] = [:]
            var dated: Set<TopicPartition> = []
            for index in 0..<count {
                let element = rd_kafka_ListOffsetsResultInfo_topic_partition(infos![index])!.pointee
                let partition = TopicPartition(topic: String(cString: element.topic), partition: element.partition)
                guard element.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    offsets[partition] = .failure(KafkaError(element.err, operation: "listing offsets of \(partition)"))
                    continue
                }
                let timestamp = rd_kafka_ListOffsetsResultInfo_timestamp(infos![index])
                if timestamp >= 0 { dated.insert(partition) }
                if case .timestamp(let milliseconds) = spec {
                    // A hit is a record at or after the time. Kafka answers -1 when there is none;
                    // the embedded broker answers offset 0 instead, with an earlier timestamp.
                    offsets[partition] = .success(element.offset >= 0 && timestamp >= max(milliseconds, 0) ? element.offset : -1)
                } else {
                    offsets[partition] = .success(element.offset)
                }
            }
            return .success((offsets, dated))
        }
    }

    /// Every partition of these topics with its earliest and end offsets.
    public func watermarks(
        topics: [TopicMetadata],
        isolationLevel: KafkaIsolationLevel
    ) async throws(KafkaError) -> [TopicPartition: (earliest: Int64, end: Int64)] {
        var result: [TopicPartition: (earliest: Int64, end: Int64)] = [:]
        for (partition, bounds) in try await self.watermarksOfEach(topics.flatMap(\.topicPartitions), isolationLevel: isolationLevel) {
            result[partition] = try bounds.get()
        }
        return result
    }

    /// Like ``watermarks(topics:isolationLevel:)``, with each partition's own outcome: a partition
    /// whose leader is down fails alone. Throws only when a request as a whole fails.
    public func watermarksOfEach(
        _ partitions: [TopicPartition],
        isolationLevel: KafkaIsolationLevel
    ) async throws(KafkaError) -> [TopicPartition: Result<(earliest: Int64, end: Int64), KafkaError>] {
        let earliest = try await self.listOffsetsOfEach(partitions, .earliest, isolationLevel: isolationLevel)
        let end = try await self.listOffsetsOfEach(partitions, .latest, isolationLevel: isolationLevel)
        var result: [TopicPartition: Result<(earliest: Int64, end: Int64), KafkaError>] = [:]
        for partition in partitions {
            switch (earliest[partition], end[partition]) {
            case (.success(let first)?, .success(let last)?): result[partition] = .success((first, last))
            case (.failure(let error)?, _), (_, .failure(let error)?): result[partition] = .failure(error)
            default: break
            }
        }
        return result
    }

    // MARK: Consumer groups

    /// A consumer group as the cluster lists it.
    public struct ConsumerGroupListing: Sendable, Hashable {
        public var groupID: String
        /// `Stable`, `Empty`, `PreparingRebalance`, `Dead`, … as librdkafka names it.
        public var state: String
    }

    /// Every consumer group the cluster knows.
    public func listConsumerGroups() async throws(KafkaError) -> [ConsumerGroupListing] {
        try await self.request("listing consumer groups") { handle, options, queue in
            rd_kafka_ListConsumerGroups(handle, options, queue)
            return .success(())
        } parse: { event in
            let result = rd_kafka_event_ListConsumerGroups_result(event)
            var count = 0
            let listings = rd_kafka_ListConsumerGroups_result_valid(result, &count)
            var groups: [ConsumerGroupListing] = []
            for index in 0..<count {
                let listing = listings![index]
                groups.append(
                    ConsumerGroupListing(
                        groupID: String(cString: rd_kafka_ConsumerGroupListing_group_id(listing)),
                        state: String(cString: rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(listing)))
                    )
                )
            }
            return .success(groups.sorted { $0.groupID < $1.groupID })
        }
    }

    /// A consumer group's state and members.
    public struct ConsumerGroupDescription: Sendable, Hashable {
        public var groupID: String
        public var state: String
        public var members: [Member]

        public struct Member: Sendable, Hashable {
            public var memberID: String
            public var clientID: String
            public var host: String
            public var assignment: [TopicPartition]
        }
    }

    /// State and members of these groups. Throws when any of them could not be described (see
    /// ``describeConsumerGroupsOfEach(_:)``).
    public func describeConsumerGroups(_ groupIDs: [String]) async throws(KafkaError) -> [ConsumerGroupDescription] {
        let results = try await self.describeConsumerGroupsOfEach(groupIDs)
        var descriptions: [ConsumerGroupDescription] = []
        for groupID in groupIDs {
            guard let result = results[groupID] else { continue }
            descriptions.append(try result.get())
        }
        return descriptions
    }

    /// Like ``describeConsumerGroups(_:)``, with each group's own outcome: a group whose
    /// coordinator is unavailable fails alone. Throws only when the request as a whole fails.
    public func describeConsumerGroupsOfEach(_ groupIDs: [String]) async throws(KafkaError) -> [String: Result<ConsumerGroupDescription, KafkaError>] {
        guard !groupIDs.isEmpty else { return [:] }
        return try await self.request("describing consumer groups") { handle, options, queue in
            var names = groupIDs.map { strdup($0) }
            defer { names.forEach { free($0) } }
            names.withUnsafeMutableBufferPointer { buffer in
                buffer.withMemoryRebound(to: UnsafePointer<CChar>?.self) {
                    rd_kafka_DescribeConsumerGroups(handle, $0.baseAddress, $0.count, options, queue)
                }
            }
            return .success(())
        } parse: { event in
            var count = 0
            let groups = rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(event), &count)
            var descriptions: [String: Result<ConsumerGroupDescription, KafkaError>] = [:]
            for index in 0..<count {
                let group = groups![index]
                let groupID = String(cString: rd_kafka_ConsumerGroupDescription_group_id(group))
                if let error = rd_kafka_ConsumerGroupDescription_error(group) {
                    descriptions[groupID] = .failure(
                        KafkaError(
                            code: .init(rd_kafka_error_code(error)),
                            message: String(cString: rd_kafka_error_string(error)),
                            operation: "describing group \(groupID)"
                        )
                    )
                    continue
                }
                let members = (0..<rd_kafka_ConsumerGroupDescription_member_count(group)).map { memberIndex in
                    let member = rd_kafka_ConsumerGroupDescription_member(group, memberIndex)
                    let assignment = rd_kafka_MemberDescription_assignment(member)
                    let partitions = rd_kafka_MemberAssignment_partitions(assignment).map { RDKafkaClient.entries(of: $0).map(\.topicPartition) } ?? []
                    return ConsumerGroupDescription.Member(
                        memberID: String(cString: rd_kafka_MemberDescription_consumer_id(member)),
                        clientID: String(cString: rd_kafka_MemberDescription_client_id(member)),
                        host: String(cString: rd_kafka_MemberDescription_host(member)),
                        assignment: partitions
                    )
                }
                descriptions[groupID] = .success(
                    ConsumerGroupDescription(
                        groupID: groupID,
                        state: String(cString: rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(group))),
                        members: members
                    )
                )
            }
            return .success(descriptions)
        }
    }

    /// The group's committed offsets: for every partition it committed, the next offset it
    /// will read. Partitions the group never committed are absent.
    public func committedOffsets(group: String) async throws(KafkaError) -> [TopicPartition: Int64] {
        try await self.request("reading committed offsets of group \(group)") { handle, options, queue in
            var request = [rd_kafka_ListConsumerGroupOffsets_new(group, nil)]
            defer { request.forEach { rd_kafka_ListConsumerGroupOffsets_destroy($0) } }
            request.withUnsafeMutableBufferPointer {
                rd_kafka_ListConsumerGroupOffsets(handle, $0.baseAddress, $0.count, options, queue)
            }
            return .success(())
        } parse: { event in
            var count = 0
            let groups = rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(event), &count)
            return Self.groupOffsets(groups, count: count, group: group)
        }
    }

    /// Sets a group's committed offsets (the next offset to read, per partition). The group
    /// must have no active members; the broker refuses otherwise.
    public func alterCommittedOffsets(group: String, offsets: [TopicPartition: Int64]) async throws(KafkaError) {
        guard !offsets.isEmpty else { return }
        _ = try await self.request("setting committed offsets of group \(group)") { handle, options, queue in
            let list = RDKafkaClient.makePartitionList(offsets.map { ($0.key, $0.value) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            var request = [rd_kafka_AlterConsumerGroupOffsets_new(group, list)]
            defer { request.forEach { rd_kafka_AlterConsumerGroupOffsets_destroy($0) } }
            request.withUnsafeMutableBufferPointer {
                rd_kafka_AlterConsumerGroupOffsets(handle, $0.baseAddress, $0.count, options, queue)
            }
            return .success(())
        } parse: { event in
            var count = 0
            let groups = rd_kafka_AlterConsumerGroupOffsets_result_groups(rd_kafka_event_AlterConsumerGroupOffsets_result(event), &count)
            return Self.groupOffsets(groups, count: count, group: group)
        }
    }

    private static func groupOffsets(
        _ groups: UnsafeMutablePointer<OpaquePointer?>?,
        count: Int,
        group: String
    ) -> Result<[TopicPartition: Int64], KafkaError> {
        var offsets: [TopicPartition: Int64] = [:]
        for index in 0..<count {
            let result = groups![index]
            if let error = rd_kafka_group_result_error(result) {
                return .failure(
                    KafkaError(
                        code: .init(rd_kafka_error_code(error)),
                        message: String(cString: rd_kafka_error_string(error)),
                        operation: "offsets of group \(group)"
                    )
                )
            }
            guard let partitions = rd_kafka_group_result_partitions(result) else { continue }
            for entry in RDKafkaClient.entries(of: partitions) {
                if entry.error != RD_KAFKA_RESP_ERR_NO_ERROR {
                    return .failure(KafkaError(entry.error, operation: "offsets of group \(group), \(entry.topicPartition)"))
                }
                if entry.offset >= 0 { offsets[entry.topicPartition] = entry.offset }
            }
        }
        return .success(offsets)
    }

    // MARK: Requests

    /// Runs one admin request: `start` issues it on a fresh result queue, `parse` reads the result event.
    /// Cancelling the calling task stops the wait within 100 ms with ``KafkaError/Code/interrupted``
    /// (a service asked to stop while its broker does not answer need not wait out the request's
    /// timeout); the request itself may still be carried out.
    private func request<T: Sendable>(
        _ operation: String,
        start: @escaping @Sendable (OpaquePointer, OpaquePointer, OpaquePointer) -> Result<Void, KafkaError>,
        parse: @escaping @Sendable (OpaquePointer) -> Result<T, KafkaError>
    ) async throws(KafkaError) -> T {
        let client = self.client
        let timeout = self.requestTimeout
        let cancelled = CancellationFlag()
        let result: Result<T, KafkaError> = await withTaskCancellationHandler {
            await RDKafkaClient.blocking {
                let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_ANY)!
                defer { rd_kafka_AdminOptions_destroy(options) }
                let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: 512)
                defer { errorBuffer.deallocate() }
                _ = rd_kafka_AdminOptions_set_request_timeout(options, Int32(clamping: timeout.milliseconds), errorBuffer, 512)
                let queue = rd_kafka_queue_new(client.handle)!
                defer { rd_kafka_queue_destroy(queue) }
                if case .failure(let error) = start(client.handle, options, queue) {
                    return .failure(error)
                }
                // The request times out on its own; wait a little longer than that for its answer, in
                // slices, to notice a cancellation. A result that comes after the queue is destroyed
                // is dropped by librdkafka.
                let deadline = ContinuousClock.now + timeout + .seconds(2)
                var answer: OpaquePointer?
                while answer == nil {
                    guard !cancelled.isSet else {
                        return .failure(KafkaError(code: .interrupted, message: "the wait was cancelled", operation: operation))
                    }
                    let left = ContinuousClock.now.duration(to: deadline)
                    guard left > .zero else {
                        return .failure(KafkaError(RD_KAFKA_RESP_ERR__TIMED_OUT, operation: operation))
                    }
                    answer = rd_kafka_queue_poll(queue, Int32(clamping: min(left, .milliseconds(100)).milliseconds + 1))
                }
                let event = answer!
                defer { rd_kafka_event_destroy(event) }
                let err = rd_kafka_event_error(event)
                guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    var error = KafkaError(err, operation: operation)
                    if let message = rd_kafka_event_error_string(event) { error.message = String(cString: message) }
                    return .failure(error)
                }
                return parse(event)
            }
        } onCancel: {
            cancelled.set()
        }
        return try result.get()
    }
}

/// Set once, from any thread, when a task waiting on a blocking call is cancelled.
final class CancellationFlag: Sendable {
    private let value = Atomic<Bool>(false)

    var isSet: Bool { self.value.load(ordering: .acquiring) }

    func set() {
        self.value.store(true, ordering: .releasing)
    }
}
