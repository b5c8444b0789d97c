// MARK: - DiscordVerifier + samples

extension DiscordVerifier {
    /// Discord interactions: a slash command (type 2, `application_command`). Signed with the
    /// application's Ed25519 private key; the id is the interaction `id`, the key `guild_id`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "discord",
            event: "application_command",
            body: #"{"app_permissions":"562949953601536","application_id":"1239871623456789012","authorizing_integration_owners":{"0":"613425648685547541"},"channel":{"flags":0,"guild_id":"613425648685547541","id":"613425648685547544","name":"orders","nsfw":false,"parent_id":null,"position":2,"type":0},"channel_id":"613425648685547544","context":0,"data":{"id":"1239872209876543210","name":"order","options":[{"name":"status","type":1,"options":[{"name":"id","type":3,"value":"ord_1001"}]}],"type":1},"entitlements":[],"guild_id":"613425648685547541","guild_locale":"en-US","id":"1239874411223344556","locale":"en-GB","member":{"avatar":null,"deaf":false,"joined_at":"2021-03-02T18:24:51.102000+00:00","mute":false,"nick":null,"permissions":"2248473465835073","roles":["613425648685547542"],"user":{"avatar":"a_d5efa99b3eeaa7dd43acca82f5692432","discriminator":"0","global_name":"Ada","id":"53908232506183680","username":"ada"}},"token":"aW50ZXJhY3Rpb246MTIzOTg3NDQxMTIyMzM0NDU1NjpTUjBlSGE3d2Q5Uk5xb1J4","type":2,"version":1}"#,
            expectedID: "1239874411223344556",
            expectedKey: "613425648685547541"
        ),
    ]
}
