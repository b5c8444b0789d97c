import HooklineServices

await ConsumerServiceOptions.main(service: "orders")
