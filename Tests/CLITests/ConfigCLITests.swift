import Foundation
import QueueCore
import Testing
import TestSupport

/// `config set/get/list/unset` through the binary.
@Suite struct ConfigCLITests {
    @Test func setGetListUnset() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        // A queue to read (config get never creates one).
        try sandbox.ok(["enqueue", #"{"command":"true"}"#])
        #expect(try sandbox.ok(["config", "get", "max-retries"]).stdout == "3\n")
        #expect(try sandbox.ok(["config", "get", "backoff-base"]).stdout == "2\n")
        #expect(try sandbox.ok(["config", "get", "backoff-max"]).stdout == "86400\n")
        let lease = try #require(Int(try sandbox.ok(["config", "get", "lease-timeout"]).stdout.trimmingCharacters(in: .newlines)))
        #expect(lease >= 1 && lease <= 15)

        let set = try sandbox.ok(["config", "set", "max_retries", "2"])
        #expect(set.stdout == "max-retries = 2\n")
        try sandbox.configure([("backoff-base", "1.5"), ("backoff-max", "60"), ("lease-timeout", "2"), ("output-limit", "64K")])
        #expect(try sandbox.ok(["config", "get", "max-retries"]).stdout == "2\n")
        #expect(try sandbox.ok(["config", "get", "MAX_RETRIES"]).stdout == "2\n")
        #expect(try sandbox.ok(["config", "get", "backoff-base"]).stdout == "1.5\n")
        #expect(try sandbox.ok(["config", "get", "output-limit"]).stdout == "65536\n")

        let all = try sandbox.json(["config", "list"])
        #expect(all.keys == ["max-retries", "backoff-base", "backoff-max", "job-timeout", "lease-timeout", "output-limit", "kill-grace", "claim-batch", "backoff-jitter", "retain-completed", "retain-dead", "retain-cancelled"])
        #expect(all["max-retries"]?.intValue == 2)
        #expect(all["backoff-base"]?.doubleValue == 1.5)
        #expect(all["backoff-max"]?.intValue == 60)
        #expect(all["job-timeout"]?.intValue == 0)
        #expect(all["lease-timeout"]?.intValue == 2)
        let text = try sandbox.ok(["config", "list"])
        #expect(text.lines.first?.hasPrefix("KEY") == true)
        #expect(text.lines.count == 1 + ConfigKey.allCases.count)

        // New jobs take the configured max-retries.
        try sandbox.enqueue(#"{"id":"j","command":"true"}"#)
        #expect(try sandbox.job("j")["max_retries"]?.intValue == 2)

        try sandbox.ok(["config", "unset", "max-retries"])
        try sandbox.ok(["config", "unset", "backoff-max"])
        #expect(try sandbox.ok(["config", "get", "max-retries"]).stdout == "3\n")
        #expect(try sandbox.json(["config", "list"])["backoff-max"]?.intValue == 86400)
        // Unsetting a key that is not set is fine.
        try sandbox.ok(["config", "unset", "backoff-max"])
    }

    @Test func rejectedValuesLeaveTheOldValue() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("max-retries", "4"), ("backoff-base", "3"), ("lease-timeout", "5")])
        for (key, value) in [("max-retries", "-1"), ("max-retries", "1.5"), ("backoff-base", "0.9"), ("backoff-base", "abc"),
                             ("lease-timeout", "0"), ("lease-timeout", "-5"), ("job-timeout", "-1"), ("output-limit", "12")] {
            let result = try sandbox.run(["config", "set", key, value])
            #expect(result.status == 64, "config set \(key) \(value): \(result)")
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains(key), "\(result.stderr)")
        }
        let all = try sandbox.json(["config", "list"])
        #expect(all["max-retries"]?.intValue == 4)
        #expect(all["backoff-base"]?.intValue == 3)
        #expect(all["lease-timeout"]?.intValue == 5)
        #expect(all["job-timeout"]?.intValue == 0)
    }
}
