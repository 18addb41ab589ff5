import FieldlinkCore
import Testing

@Suite struct TopicTemplateTests {
    @Test(arguments: [
        ("fieldlink/{gateway}/{device}", "fieldlink/gw-1/meter1"),
        ("site/{gateway}/{bus}/{device}/data", "site/gw-1/rs485/meter1/data"),
        ("{device}/{device}", "meter1/meter1"),
        ("plain/topic", "plain/topic"),
        ("{bus}", "rs485"),
        ("/leading/{gateway}", "/leading/gw-1"),
    ])
    func rendersEveryPlaceholder(template: String, rendered: String) throws {
        let topic = try #require(TopicTemplate(template))
        #expect(topic.text == template)
        #expect(topic.render(gateway: "gw-1", device: "meter1", bus: "rs485") == rendered)
    }

    @Test func defaultTopicIsValidAndNamesGatewayAndDevice() throws {
        let topic = try #require(TopicTemplate(TopicTemplate.defaultDeviceTopic))
        #expect(topic.render(gateway: "g", device: "d", bus: "b") == "fieldlink/g/d")
        #expect(TopicTemplate.placeholders == ["gateway", "device", "bus"])
    }

    @Test(arguments: [
        ("", "topic must not be empty"),
        ("a/+/b", "a publish topic cannot contain the wildcards + or #"),
        ("a/#", "a publish topic cannot contain the wildcards + or #"),
        ("a/\u{0}/b", "a topic cannot contain NUL"),
        ("a/{site}/b", "unknown placeholder {site} (expected one of {gateway}, {device}, {bus})"),
        ("a/{}/b", "unknown placeholder {} (expected one of {gateway}, {device}, {bus})"),
        ("a/{Device}", "unknown placeholder {Device} (expected one of {gateway}, {device}, {bus})"),
        ("a/{device", #"unclosed "{" in topic"#),
        ("a/{device}/{", #"unclosed "{" in topic"#),
        ("a/device}", #"unmatched "}" in topic"#),
        ("{device}/x}", #"unmatched "}" in topic"#),
    ])
    func rejectsTopicsThatCannotBePublished(template: String, reason: String) {
        #expect(TopicTemplate.validate(template) == reason)
        #expect(TopicTemplate(template) == nil)
    }
}
