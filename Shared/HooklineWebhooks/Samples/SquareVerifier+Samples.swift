// MARK: - SquareVerifier + samples

extension SquareVerifier {
    /// The notification URL the Square samples are signed for.
    static let squareURL = "https://hooks.example.com/hooks/square"

    /// Square: `payment.updated` for a completed 49.90 EUR card payment, signed together with
    /// ``squareURL``. The event and id come from the body (`type`, `event_id`); the key is `data.id`.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "square",
            event: "payment.updated",
            body: #"{"merchant_id":"6SSW7HV8K2ST5","type":"payment.updated","event_id":"6a8f5f28-54a1-4eb0-a98a-3111513fd4fc","created_at":"2024-05-14T09:26:52.218Z","data":{"type":"payment","id":"hYy9pRFVxpDsO1FB05SunFWUe9JZY","object":{"payment":{"id":"hYy9pRFVxpDsO1FB05SunFWUe9JZY","created_at":"2024-05-14T09:26:49.106Z","updated_at":"2024-05-14T09:26:52.214Z","amount_money":{"amount":4990,"currency":"EUR"},"total_money":{"amount":4990,"currency":"EUR"},"approved_money":{"amount":4990,"currency":"EUR"},"status":"COMPLETED","source_type":"CARD","card_details":{"status":"CAPTURED","card":{"card_brand":"VISA","last_4":"4242","exp_month":8,"exp_year":2027},"entry_method":"KEYED"},"location_id":"L88917AVBK2S5","order_id":"CAISEM82RcpmcFBM0TfOyiHV3es","reference_id":"ord_1001","buyer_email_address":"jon@example.com","receipt_number":"hYy9","receipt_url":"https://squareup.com/receipt/preview/hYy9pRFVxpDsO1FB05SunFWUe9JZY","version":3}}}}"#,
            configuration: ProviderConfiguration(publicURL: squareURL),
            expectedID: "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc",
            expectedKey: "hYy9pRFVxpDsO1FB05SunFWUe9JZY"
        ),
    ]
}
