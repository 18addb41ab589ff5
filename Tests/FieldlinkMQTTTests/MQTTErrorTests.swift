import CMosquitto
import Testing

@testable import FieldlinkMQTT

/// Every libmosquitto code gets words of our own: 2.0.11's `mosquitto_strerror` has none for some
/// (MOSQ_ERR_KEEPALIVE is "Unknown error."), and passing them through told users nothing.
@Suite struct MQTTErrorTests {
    @Test(arguments: Array(MOSQ_ERR_AUTH_CONTINUE.rawValue...MOSQ_ERR_ALREADY_EXISTS.rawValue))
    func everyCodeHasWordsOfOurOwn(code: Int32) {
        let words = MQTTError.words(for: code)
        #expect(!words.hasPrefix("libmosquitto error"), "code \(code) has no words")
        #expect(words != String(cString: mosquitto_strerror(code)), "code \(code) passes libmosquitto's text through")
    }

    @Test func theKeepaliveTimeoutIsNamed() {
        let error = MQTTError(returnCode: MOSQ_ERR_KEEPALIVE.rawValue, operation: "connection lost")
        #expect(error.message == "connection lost: the broker did not answer the keepalive ping in time")
    }
}
