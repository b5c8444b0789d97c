// MARK: - TwilioVerifier + samples

extension TwilioVerifier {
    /// The public URL the Twilio samples are signed for.
    static let twilioURL = "https://hooks.example.com/hooks/twilio"

    /// Twilio status callbacks (form bodies, signed together with ``twilioURL``): an SMS reaching
    /// `delivered` and a call `completed`; and an Event Streams delivery. The event is `message.<MessageStatus>` or
    /// `call.<CallStatus>`; the id travels in `I-Twilio-Idempotency-Token`; the key is the sid.
    public static let samples: [WebhookSample] = [
        WebhookSample(
            provider: "twilio",
            event: "message.delivered",
            body: #"ToCountry=DE&ToState=&SmsMessageSid=SM3f0e5b7a9c1d4e6f8a0b2c4d6e8f0a1b&NumMedia=0&ToCity=&FromZip=&SmsSid=SM3f0e5b7a9c1d4e6f8a0b2c4d6e8f0a1b&FromState=&SmsStatus=delivered&FromCity=&Body=Your+order+%231001+has+shipped.+Track+it+at+https%3A%2F%2Fshop.example.com%2Ft%2F1Z2345&FromCountry=US&To=%2B4915112345678&MessagingServiceSid=MG9d3e7b2a4c6f8e0a1b3d5f7a9c1e3b5d&ToZip=&NumSegments=1&MessageSid=SM3f0e5b7a9c1d4e6f8a0b2c4d6e8f0a1b&AccountSid=AC8f1e2d3c4b5a69788796a5b4c3d2e1f0&From=%2B15017122661&MessageStatus=delivered&ApiVersion=2010-04-01&RawDlrDoneDate=2405141128"#,
            id: "0d3c9a7e5b1f4a2c8e6d0b9a7c5e3f1a-delivered",
            configuration: ProviderConfiguration(publicURL: twilioURL),
            expectedKey: "SM3f0e5b7a9c1d4e6f8a0b2c4d6e8f0a1b"
        ),
        WebhookSample(
            provider: "twilio",
            event: "call.completed",
            body: #"Called=%2B4930901820&ToState=&CallerCountry=US&Direction=outbound-api&Timestamp=Tue%2C+14+May+2024+09%3A31%3A44+%2B0000&CallbackSource=call-progress-events&SipResponseCode=200&CallerState=CA&ToZip=&SequenceNumber=3&CallSid=CA5e7f9a1b3c5d7e9f0a2b4c6d8e0f1a3b&To=%2B4930901820&CallerZip=94105&ToCountry=DE&CalledZip=&ApiVersion=2010-04-01&CalledCity=&CallStatus=completed&Duration=2&From=%2B15017122661&CallDuration=87&AccountSid=AC8f1e2d3c4b5a69788796a5b4c3d2e1f0&CalledCountry=DE&CallerCity=SAN+FRANCISCO&ToCity=&FromCountry=US&Caller=%2B15017122661&FromCity=SAN+FRANCISCO&CalledState=&FromZip=94105&FromState=CA"#,
            id: "7a1c3e5f9b2d4f6a8c0e1b3d5f7a9c2e-completed",
            configuration: ProviderConfiguration(publicURL: twilioURL),
            expectedKey: "CA5e7f9a1b3c5d7e9f0a2b4c6d8e0f1a3b"
        ),
        // An Event Streams webhook sink's batch of one CloudEvent (JSON, signed through the URL's
        // bodySHA256): the event is its type without `com.twilio.`.
        WebhookSample(
            provider: "twilio",
            event: "messaging.message.delivered",
            body: #"[{"specversion":"1.0","type":"com.twilio.messaging.message.delivered","source":"/2010-04-01/Accounts/AC8f1e2d3c4b5a69788796a5b4c3d2e1f0/Messages/SM3f0e5b7a9c1d4e6f8a0b2c4d6e8f0a1b.json","id":"EZ1f3e5d7c9b0a2f4e6d8c0b1a3f5e7d9c","dataschema":"https://events-schemas.twilio.com/Messaging.MessageStatus/2","datacontenttype":"application/json","time":"2024-05-14T11:28:03.000Z","data":{"accountSid":"AC8f1e2d3c4b5a69788796a5b4c3d2e1f0","messageSid":"SM3f0e5b7a9c1d4e6f8a0b2c4d6e8f0a1b","messagingServiceSid":"MG9d3e7b2a4c6f8e0a1b3d5f7a9c1e3b5d","messageStatus":"DELIVERED","to":"+4915112345678","from":"+15017122661","eventName":"com.twilio.messaging.message.delivered","timestamp":"2024-05-14T11:28:03.000Z"}}]"#,
            id: "2b4d6f8a0c1e3a5c7e9b1d3f5a7c9e0b-delivered",
            configuration: ProviderConfiguration(publicURL: twilioURL),
            expectedKey: "SM3f0e5b7a9c1d4e6f8a0b2c4d6e8f0a1b"
        ),
    ]
}
