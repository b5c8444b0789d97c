enum HooklineWebhooksPlaceholder {}
