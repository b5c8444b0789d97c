import HTTPTypes
import Testing

@testable import HooklineWebhooks

/// The properties every provider shares, over a signer → verifier round trip.
@Suite("Every provider")
struct ProviderRoundTripTests {
    @Test func everyRegisteredProviderHasAFixture() {
        let covered = Set(ProviderFixture.all.map(\.provider))
        #expect(covered == Set(WebhookProviders.names))
        #expect(WebhookProviders.names.count == 13)
    }

    @Test(arguments: ProviderFixture.all)
    func signedDeliveryVerifiesWithItsRoutingFacts(_ fixture: ProviderFixture) throws {
        let verified = try fixture.verifier().verify(fixture.request())
        #expect(verified.event == fixture.event)
        #expect(verified.id == fixture.id)
        #expect(verified.key == fixture.key)
        #expect(verified.ceType == fixture.provider + "." + fixture.event)
        #expect(verified.publish)
    }

    /// The providers that name a delivery in a header: a refusal's log line quotes it.
    static let deliveryIDInHeaders: Set<String> = ["github", "gitlab", "shopify", "twilio", "standard-webhooks", "linear", "hmac-sha256"]

    @Test(arguments: ProviderFixture.all)
    func deliveryIDHeadersNameTheVerifiedID(_ fixture: ProviderFixture) throws {
        let verifier = try fixture.verifier()
        let request = try fixture.request(.wrong)
        let id = verifier.deliveryID(in: request.headerFields)
        #expect(id == (Self.deliveryIDInHeaders.contains(fixture.provider) ? fixture.id : nil))
    }

    @Test func deliveryIDIsCutAndPrintable() throws {
        let verifier = try WebhookProviders.makeVerifier(provider: "github", configuration: ProviderConfiguration(secrets: ["s"]))
        let long = String(repeating: "a", count: 200)
        #expect(verifier.deliveryID(in: [HTTPField.Name("X-GitHub-Delivery")!: long]) == String(long.prefix(128)))
        #expect(verifier.deliveryID(in: [HTTPField.Name("X-GitHub-Delivery")!: "id with\tspaces\u{7F}é"]) == "id?with?spaces???")
        #expect(verifier.deliveryID(in: [:]) == nil)
    }

    @Test(arguments: ProviderFixture.all)
    func rotatedCredentialIsAccepted(_ fixture: ProviderFixture) throws {
        let verified = try fixture.verifier().verify(fixture.request(.rotated))
        #expect(verified.event == fixture.event)
    }

    @Test(arguments: ProviderFixture.all)
    func wrongCredentialIsRefused(_ fixture: ProviderFixture) throws {
        let verifier = try fixture.verifier()
        let request = try fixture.request(.wrong)
        expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(request) }
    }

    /// The providers that read routing facts (event, id, key, timestamp) from a JSON body: one that
    /// is not a whole JSON document (cut short, or with bytes after it) is a 400, not routed by
    /// what could be read before it broke. GitHub, Shopify and Twilio read their facts from headers
    /// or a form.
    static let routedByJSONBody: Set<String> = ["gitlab", "stripe", "slack", "standard-webhooks", "discord", "hmac-sha256", "square", "paddle", "linear", "intercom"]

    @Test func everyOtherProviderRoutesByHeadersOrAForm() {
        #expect(Set(WebhookProviders.names).subtracting(Self.routedByJSONBody) == ["github", "shopify", "twilio"])
    }

    @Test(arguments: ProviderFixture.all.filter { routedByJSONBody.contains($0.provider) })
    func signedBodyThatIsNotWholeJSONIsMalformed(_ fixture: ProviderFixture) throws {
        let verifier = try fixture.verifier()
        let body = fixture.body(now)
        for broken in [Array(body.dropLast()), body + bytes(" x"), body + bytes("{}"), Array(body.prefix(body.count / 2))] {
            let request = try fixture.request(body: broken)
            expectRefusal(.malformedBody, .badRequest) { () throws(WebhookError) in try verifier.verify(request) }
        }
        // Whitespace around the document is still one document.
        #expect(try verifier.verify(fixture.request(body: bytes(" \n") + body + bytes("\r\n "))).event == fixture.event)
    }

    @Test(arguments: ProviderFixture.all.filter(\.bodyAuthenticated))
    func tamperedBodyIsRefused(_ fixture: ProviderFixture) throws {
        let verifier = try fixture.verifier()
        var request = try fixture.request()
        request.body.append(0x20)
        expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(request) }
        request = try fixture.request()
        request.body[request.body.count / 2] ^= 0x04
        expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(request) }
    }

    @Test(arguments: ProviderFixture.all.filter(\.timestamped))
    func staleAndFutureTimestampsAreRefused(_ fixture: ProviderFixture) throws {
        let verifier = try fixture.verifier()
        let tolerance = fixture.configuration.toleranceSeconds
        for timestamp in [now - tolerance - 1, now + tolerance + 1, now - 86_400, 0] {
            let request = try fixture.request(timestamp: timestamp)
            expectRefusal(.timestampOutOfTolerance, .unauthorized) { () throws(WebhookError) in try verifier.verify(request) }
        }
        for timestamp in [now - tolerance, now + tolerance] {
            _ = try verifier.verify(fixture.request(timestamp: timestamp))
        }
    }

    @Test(arguments: ProviderFixture.all)
    func missingSignatureIsRefused(_ fixture: ProviderFixture) throws {
        let verifier = try fixture.verifier()
        var request = try fixture.request()
        let name = try #require(HTTPField.Name(fixture.signatureHeader))
        #expect(request.headerFields[name] != nil)
        request.headerFields[name] = nil
        expectRefusal(.missingSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(request) }
    }

    @Test(arguments: ProviderFixture.all.filter { !$0.requiredHeaders.isEmpty })
    func missingRequiredHeaderIsABadRequest(_ fixture: ProviderFixture) throws {
        let verifier = try fixture.verifier()
        for header in fixture.requiredHeaders {
            var request = try fixture.request()
            let name = try #require(HTTPField.Name(header))
            #expect(request.headerFields[name] != nil, "\(header)")
            request.headerFields[name] = nil
            expectRefusal(.missingHeader, .badRequest) { () throws(WebhookError) in try verifier.verify(request) }
        }
    }

    // The event names the topic; a delivery without one goes to `<prefix>.<source>.unknown`.
    @Test(arguments: ProviderFixture.all.filter { $0.eventHeader != nil })
    func missingEventHeaderIsAcceptedAsUnknown(_ fixture: ProviderFixture) throws {
        var request = try fixture.request()
        let name = try #require(fixture.eventHeader.flatMap { HTTPField.Name($0) })
        #expect(request.headerFields[name] != nil)
        request.headerFields[name] = nil
        let verified = try fixture.verifier().verify(request)
        #expect(verified.event == "unknown")
        #expect(verified.ceType == fixture.provider + ".unknown")
        #expect(verified.id == fixture.id)
        #expect(verified.publish)
    }

    @Test(arguments: ProviderFixture.all)
    func headerNamesAreCaseInsensitive(_ fixture: ProviderFixture) throws {
        let verifier = try fixture.verifier()
        for transform in [{ (name: String) in name.lowercased() }, { (name: String) in name.uppercased() }] {
            var request = try fixture.request()
            request.headerFields = HTTPFields(request.headerFields.map { field in
                HTTPField(name: HTTPField.Name(transform(field.name.rawName))!, value: field.value)
            })
            let verified = try verifier.verify(request)
            #expect(verified.event == fixture.event)
            #expect(verified.id == fixture.id)
        }
    }

    @Test(arguments: ProviderFixture.all)
    func differingDuplicateSignatureHeadersAreABadRequest(_ fixture: ProviderFixture) throws {
        let verifier = try fixture.verifier()
        let name = try #require(HTTPField.Name(fixture.signatureHeader))
        let original = try fixture.request()
        let value = try #require(original.headerFields[name])

        var same = original
        same.headerFields.append(HTTPField(name: name, value: value))
        _ = try verifier.verify(same)

        for other in [try fixture.request(.wrong).headerFields[name]!, value + "0"] {
            var request = original
            request.headerFields.append(HTTPField(name: HTTPField.Name(fixture.signatureHeader.lowercased())!, value: other))
            expectRefusal(.duplicateSignatureHeader, .badRequest) { () throws(WebhookError) in try verifier.verify(request) }
        }
    }

    @Test(arguments: ProviderFixture.all)
    func garbageSignatureIsRefused(_ fixture: ProviderFixture) throws {
        let verifier = try fixture.verifier()
        let name = try #require(HTTPField.Name(fixture.signatureHeader))
        for garbage in ["x", "sha256=zz", "v1,!!!", "t=1,v1=", "🙂"] {
            var request = try fixture.request()
            request.headerFields[name] = garbage
            expectRefusal(.badSignature, .unauthorized) { () throws(WebhookError) in try verifier.verify(request) }
        }
    }

    @Test(arguments: ProviderFixture.all)
    func errorsNeverQuoteSecretsOrPayload(_ fixture: ProviderFixture) throws {
        let verifier = try fixture.verifier()
        let request = try fixture.request(.wrong)
        do {
            _ = try verifier.verify(request)
            Issue.record("expected a refusal")
        } catch {
            let text = error.description
            for secret in fixture.configuration.secrets + fixture.configuration.publicKeys + fixture.configuration.signingTokens {
                #expect(!text.contains(secret))
            }
            #expect(!text.contains(String(decoding: fixture.body(now).prefix(12), as: UTF8.self)))
            #expect(error.status == .unauthorized)
        }
    }
}
