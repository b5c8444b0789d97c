import HooklineServices

await ConsumerServiceOptions.main(service: "payments")
