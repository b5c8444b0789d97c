// MARK: - IntercomVerifier + samples

extension IntercomVerifier {
    /// Intercom: `conversation.user.created`, a customer starting a conversation. The event and id
    /// come from the body (`topic`, `id`); the key is `data.item.id`, the conversation.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "intercom",
            event: "conversation.user.created",
            body: #"{"type":"notification_event","app_id":"ecahpwf5","data":{"type":"notification_event_data","item":{"type":"conversation","id":"147000000000312","created_at":1715679912,"updated_at":1715679912,"title":null,"state":"open","open":true,"read":false,"priority":"not_priority","waiting_since":1715679912,"source":{"type":"conversation","id":"2108913664","delivered_as":"customer_initiated","subject":"","body":"<p>Hi, where is my order #1001? It was paid on Tuesday.</p>","author":{"type":"user","id":"6643a1f2c9e77d1b2e4f8a90","name":"Jon Snow","email":"jon@example.com"},"url":"https://shop.example.com/orders/ord_1001"},"contacts":{"type":"contact.list","contacts":[{"type":"contact","id":"6643a1f2c9e77d1b2e4f8a90","external_id":"cust_7Pq2Rk9Vm4"}]},"admin_assignee_id":null,"team_assignee_id":null,"tags":{"type":"tag.list","tags":[]}}},"links":{},"id":"notif_8e2f4a60-7b1c-4d3e-9f5a-0c2e4b6d8f13","topic":"conversation.user.created","delivery_status":"pending","delivery_attempts":1,"delivered_at":0,"first_sent_at":1715679913,"created_at":1715679913,"self":null}"#,
            expectedID: "notif_8e2f4a60-7b1c-4d3e-9f5a-0c2e4b6d8f13",
            expectedKey: "147000000000312"
        ),
    ]
}
