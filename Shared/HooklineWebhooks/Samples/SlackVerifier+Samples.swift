// MARK: - SlackVerifier + samples

extension SlackVerifier {
    /// Slack Events API: `event_callback` deliveries of an `app_mention` and a channel `message`.
    /// The verifier reports the inner `event.type`; the id is `event_id`, the key `team_id`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "slack",
            event: "app_mention",
            body: #"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","team_id":"T061EG9R6","api_app_id":"A0MDYCDME","event":{"type":"app_mention","user":"U061F7AUR","text":"<@U0LAN0Z89> is the order feed healthy?","ts":"1715678655.000200","client_msg_id":"8c1f5a2e-7b3d-4f9a-a6e0-2c4d6f8b0a13","team":"T061EG9R6","channel":"C0LAN2Q65","event_ts":"1715678655.000200","blocks":[{"type":"rich_text","block_id":"Vx2p","elements":[{"type":"rich_text_section","elements":[{"type":"user","user_id":"U0LAN0Z89"},{"type":"text","text":" is the order feed healthy?"}]}]}]},"type":"event_callback","event_id":"Ev08MFMKH6","event_time":1715678655,"authorizations":[{"enterprise_id":null,"team_id":"T061EG9R6","user_id":"U0LAN0Z89","is_bot":true,"is_enterprise_install":false}],"is_ext_shared_channel":false,"event_context":"4-eyJldCI6ImFwcF9tZW50aW9uIiwidGlkIjoiVDA2MUVHOVI2IiwiYWlkIjoiQTBNRFlDRE1FIiwiY2lkIjoiQzBMQU4yUTY1In0"}"#,
            expectedID: "Ev08MFMKH6",
            expectedKey: "T061EG9R6"
        ),
        WebhookSample(
            provider: "slack",
            event: "message",
            body: #"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","team_id":"T061EG9R6","api_app_id":"A0MDYCDME","event":{"type":"message","channel":"C0LAN2Q65","user":"U061F7AUR","text":"Order #1001 shipped with DHL, tracking 1Z2345","ts":"1715688191.000400","client_msg_id":"e4b7d0a3-2c6f-4a81-9d5e-7f0a3c6e9b24","team":"T061EG9R6","event_ts":"1715688191.000400","channel_type":"channel"},"type":"event_callback","event_id":"Ev08MH2QJ1","event_time":1715688191,"authorizations":[{"enterprise_id":null,"team_id":"T061EG9R6","user_id":"U0LAN0Z89","is_bot":true,"is_enterprise_install":false}],"is_ext_shared_channel":false,"event_context":"4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMDYxRUc5UjYiLCJhaWQiOiJBME1EWUNETUUiLCJjaWQiOiJDMExBTjJRNjUifQ"}"#,
            expectedID: "Ev08MH2QJ1",
            expectedKey: "T061EG9R6"
        ),
    ]
}
