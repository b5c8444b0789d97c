// MARK: - GitLabVerifier + samples

extension GitLabVerifier {
    /// GitLab: `push` and `merge_request`. The event travels in `X-Gitlab-Event` (`Push Hook`,
    /// `Merge Request Hook`) and must match `object_kind`; the id in `Idempotency-Key`; the key is
    /// `project.path_with_namespace`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "gitlab",
            event: "push",
            body: ##"{"object_kind":"push","event_name":"push","before":"95790bf891e76fee5e1747ab589903a6a1f80f22","after":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","ref":"refs/heads/main","ref_protected":true,"checkout_sha":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","message":null,"user_id":4,"user_name":"John Smith","user_username":"jsmith","user_email":"","user_avatar":"https://gitlab.example.com/uploads/-/system/user/avatar/4/avatar.png","project_id":15,"project":{"id":15,"name":"Billing","description":"Invoices and payment reconciliation","web_url":"https://gitlab.example.com/acme/billing","git_ssh_url":"git@gitlab.example.com:acme/billing.git","git_http_url":"https://gitlab.example.com/acme/billing.git","namespace":"Acme","visibility_level":0,"path_with_namespace":"acme/billing","default_branch":"main"},"commits":[{"id":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","message":"Round VAT per line, not per invoice\n","title":"Round VAT per line, not per invoice","timestamp":"2024-05-14T09:44:19+02:00","url":"https://gitlab.example.com/acme/billing/-/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7","author":{"name":"John Smith","email":"[REDACTED]"},"added":[],"modified":["lib/vat.rb"],"removed":[]}],"total_commits_count":1,"repository":{"name":"Billing","url":"git@gitlab.example.com:acme/billing.git","homepage":"https://gitlab.example.com/acme/billing","visibility_level":0}}"##,
            id: "5f0c7a2e-3b1d-4e8f-9a6c-2d4b8e1f3a70",
            expectedKey: "acme/billing"
        ),
        WebhookSample(
            provider: "gitlab",
            event: "merge_request",
            body: ##"{"object_kind":"merge_request","event_type":"merge_request","user":{"id":4,"name":"John Smith","username":"jsmith","avatar_url":"https://gitlab.example.com/uploads/-/system/user/avatar/4/avatar.png"},"project":{"id":15,"name":"Billing","web_url":"https://gitlab.example.com/acme/billing","namespace":"Acme","path_with_namespace":"acme/billing","default_branch":"main"},"object_attributes":{"id":9912,"iid":128,"title":"Round VAT per line, not per invoice","description":"Fixes one-cent differences on invoices with many lines.","state":"opened","action":"open","merge_status":"checking","source_branch":"vat-per-line","target_branch":"main","source_project_id":15,"target_project_id":15,"author_id":4,"created_at":"2024-05-14 07:46:02 UTC","updated_at":"2024-05-14 07:46:02 UTC","last_commit":{"id":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","message":"Round VAT per line, not per invoice\n","timestamp":"2024-05-14T09:44:19+02:00"},"url":"https://gitlab.example.com/acme/billing/-/merge_requests/128","work_in_progress":false,"draft":false},"labels":[{"id":206,"title":"billing","color":"#1f75cb","type":"ProjectLabel"}],"changes":{},"repository":{"name":"Billing","url":"git@gitlab.example.com:acme/billing.git","homepage":"https://gitlab.example.com/acme/billing"}}"##,
            id: "a9e3d6b1-7c2f-4f05-8b3e-6c1d0f9a2e54",
            expectedKey: "acme/billing"
        ),
    ]
}
