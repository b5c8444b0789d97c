// MARK: - LinearVerifier + samples

extension LinearVerifier {
    /// Linear: an issue created (`Issue` + `create` → `issue.create`). Freshness comes from the body's
    /// `webhookTimestamp` (Unix milliseconds), so the body is restamped when signed
    /// (``WebhookSample/body(at:)``). The id travels in `Linear-Delivery`; the key is `data.id`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "linear",
            event: "issue.create",
            body: ##"{"action":"create","actor":{"id":"2e6eea91-1111-4f87-8a4b-6a1d7c0e9f11","name":"Ada Lovelace","email":"ada@example.com","type":"user"},"createdAt":"2024-05-14T09:48:21.417Z","data":{"id":"5b1f2d7e-3c4a-4e9b-8d6f-0a2c4e6f8b13","identifier":"HOOK-214","number":214,"title":"Gateway answers 500 when the body is empty","description":"POSTing an empty body to /hooks/github returns 500 instead of 400.","priority":2,"priorityLabel":"High","estimate":2,"createdAt":"2024-05-14T09:48:21.417Z","updatedAt":"2024-05-14T09:48:21.417Z","teamId":"9f3a7c1e-5b2d-4a8f-b6e0-1c3d5e7f9a24","stateId":"c4d8e2f6-0a1b-4c3d-9e5f-7a8b9c0d1e35","state":{"id":"c4d8e2f6-0a1b-4c3d-9e5f-7a8b9c0d1e35","name":"Todo","type":"unstarted","color":"#e2e2e2"},"team":{"id":"9f3a7c1e-5b2d-4a8f-b6e0-1c3d5e7f9a24","key":"HOOK","name":"Hookline"},"labelIds":["e7a1b3c5-d7e9-4f1a-8b3c-5d7e9f1a3b46"],"labels":[{"id":"e7a1b3c5-d7e9-4f1a-8b3c-5d7e9f1a3b46","name":"Bug","color":"#eb5757"}],"creatorId":"2e6eea91-1111-4f87-8a4b-6a1d7c0e9f11","assigneeId":null},"type":"Issue","url":"https://linear.app/hookline/issue/HOOK-214/gateway-answers-500-when-the-body-is-empty","organizationId":"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c57","webhookTimestamp":1715680101512,"webhookId":"f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a68"}"##,
            id: "4d7f0a2c-6e9b-4c1d-8f3a-5b7d9e1f3a80",
            expectedKey: "5b1f2d7e-3c4a-4e9b-8d6f-0a2c4e6f8b13",
            timestampMember: "webhookTimestamp"
        ),
    ]
}
