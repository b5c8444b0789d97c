// MARK: - WebhookSamples + Standard Webhooks

extension StandardWebhooksVerifier {
    /// Standard Webhooks: an `invoice.paid` event. The id travels in `webhook-id`; the key is
    /// `data.id`, as configured with `key_json_pointer: /data/id`. Sign with a `whsec_` secret
    /// (`v1`) or a `whsk_` private key (`v1a`).
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "standard-webhooks",
            event: "invoice.paid",
            body: #"{"type":"invoice.paid","timestamp":"2024-05-14T09:40:12.512Z","data":{"id":"inv_2gH7kLq9Tz4Xw1","object":"invoice","number":"INV-2024-0518","status":"paid","customer_id":"cust_7Pq2Rk9Vm4","customer_email":"jon@example.com","order_id":"ord_1001","currency":"EUR","subtotal":4193,"tax":797,"total":4990,"amount_paid":4990,"amount_due":0,"issued_at":"2024-05-14T09:26:40Z","paid_at":"2024-05-14T09:40:11Z","lines":[{"description":"Hookline T-Shirt (M)","quantity":2,"unit_amount":2495,"amount":4990}],"payment":{"method":"card","brand":"visa","last4":"4242"},"hosted_invoice_url":"https://billing.example.com/i/inv_2gH7kLq9Tz4Xw1"}}"#,
            id: "msg_2gH7mB0cXy5ZqR3tLk8Wv1Np",
            configuration: ProviderConfiguration(keyJSONPointer: "/data/id"),
            expectedKey: "inv_2gH7kLq9Tz4Xw1"
        ),
    ]
}
