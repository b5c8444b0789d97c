import HooklineServices

await ConsumerServiceOptions.main(service: "ci")
