import Foundation
import Testing
@testable import QueueCore

/// Config keys: names (both spellings), value parsing and ranges, formatting and
/// defaults. (Storage: StoreConformanceTests/StoreConfigTests.)
@Suite struct ConfigTests {
    @Test func keyNamesAcceptBothSpellings() throws {
        #expect(try ConfigKey(name: "max-retries") == .maxRetries)
        #expect(try ConfigKey(name: "max_retries") == .maxRetries)
        #expect(try ConfigKey(name: "MAX_RETRIES") == .maxRetries)
        #expect(try ConfigKey(name: "backoff_base") == .backoffBase)
        #expect(try ConfigKey(name: "lease-timeout") == .leaseTimeout)
    }

    /// With nothing stored, every typed setting is its key's one default, and a
    /// stored value wins.
    @Test func typedSettingsComeFromTheKeysDefaults() {
        let defaults = QueueConfig()
        #expect(Double(defaults.maxRetries) == ConfigKey.maxRetries.defaultValue)
        #expect(Double(defaults.claimBatch) == ConfigKey.claimBatch.defaultValue)
        #expect(defaults.leaseTimeoutSeconds == ConfigKey.leaseTimeout.defaultValue)
        #expect(Double(defaults.outputLimitBytes) == ConfigKey.outputLimit.defaultValue)
        #expect(defaults.killGraceSeconds == ConfigKey.killGrace.defaultValue)
        #expect(defaults.retryPolicy.base == ConfigKey.backoffBase.defaultValue)
        #expect(defaults.retryPolicy.jitter == ConfigKey.backoffJitter.defaultValue)
        #expect(defaults.jobTimeout == nil)
        let stored = QueueConfig(values: [.claimBatch: 4, .maxRetries: 7, .killGrace: 0.5])
        #expect(stored.claimBatch == 4 && stored.maxRetries == 7 && stored.killGraceSeconds == 0.5)
    }

    @Test func unknownKeyListsTheValidOnes() {
        let error = #expect(throws: QueueError.self) { try ConfigKey(name: "retries") }
        #expect(error?.kind == .invalidInput)
        for key in ConfigKey.allCases { #expect(error?.message.contains(key.rawValue) == true) }
        #expect(throws: QueueError.self) { try ConfigKey(name: "") }
    }

    @Test(arguments: [
        (ConfigKey.maxRetries, "0", 0.0), (.maxRetries, "1000", 1000), (.maxRetries, " 5 ", 5),
        (.backoffBase, "1", 1), (.backoffBase, "1.5", 1.5), (.backoffBase, "1000", 1000),
        (.backoffMax, "0", 0), (.backoffMax, "3600", 3600), (.backoffMax, "0.25", 0.25),
        (.jobTimeout, "0", 0), (.jobTimeout, "2.5", 2.5),
        (.leaseTimeout, "1", 1), (.leaseTimeout, "15", 15), (.leaseTimeout, "86400", 86400),
        (.outputLimit, "1024", 1024), (.outputLimit, "64K", 65536), (.outputLimit, "2m", 2_097_152), (.outputLimit, "1G", 1_073_741_824),
        (.killGrace, "0", 0), (.killGrace, "0.5", 0.5),
    ])
    func validValuesParse(key: ConfigKey, text: String, expected: Double) throws {
        #expect(try key.parse(text) == expected)
    }

    @Test(arguments: [
        (ConfigKey.maxRetries, "-1"), (.maxRetries, "1001"), (.maxRetries, "2.5"), (.maxRetries, "three"), (.maxRetries, ""),
        (.backoffBase, "0.5"), (.backoffBase, "0"), (.backoffBase, "-2"), (.backoffBase, "inf"), (.backoffBase, "nan"), (.backoffBase, "1001"),
        (.backoffMax, "-1"), (.jobTimeout, "-0.5"),
        (.leaseTimeout, "0"), (.leaseTimeout, "-3"), (.leaseTimeout, "1.5"), (.leaseTimeout, "2147483648"),
        (.outputLimit, "100"), (.outputLimit, "K"), (.outputLimit, "10X"), (.outputLimit, "1.5M"),
        (.killGrace, "-1"), (.killGrace, "3601"),
    ])
    func invalidValuesAreRejectedWithTheRange(key: ConfigKey, text: String) {
        let error = #expect(throws: QueueError.self) { try key.parse(text) }
        #expect(error?.kind == .invalidInput)
        #expect(error?.message.contains(key.rawValue) == true)
        #expect(error?.message.contains(key.summary) == true)
    }

    @Test func formatPrintsIntegersBareAndNoneForNoValue() {
        #expect(ConfigKey.maxRetries.format(3) == "3")
        #expect(ConfigKey.backoffBase.format(1.5) == "1.5")
        #expect(ConfigKey.backoffMax.format(nil) == "none")
        #expect(ConfigKey.outputLimit.format(10_485_760) == "10485760")
    }

    @Test func defaults() {
        let config = QueueConfig()
        #expect(config.maxRetries == 3)
        #expect(config.retryPolicy == RetryPolicy(base: 2, maxDelay: 86_400))
        #expect(config.jobTimeout == nil)
        #expect(config.leaseTimeoutSeconds >= 1 && config.leaseTimeoutSeconds <= 15)
        #expect(config.value(.backoffMax) == 86_400)
    }

    /// Unset, one wait is capped at a day: base 2 would otherwise wait about 31.7
    /// years (the values' limit) after 30 failed runs.
    @Test func backoffIsCappedAtADayByDefault() {
        let policy = QueueConfig().retryPolicy
        #expect(policy.delay(afterFailedRuns: 16) == 65_536)
        #expect(policy.delay(afterFailedRuns: 17) == 86_400)
        #expect(policy.delay(afterFailedRuns: 30) == 86_400)
    }

    @Test func jobTimeoutZeroMeansNone() throws {
        #expect(QueueConfig(values: [.jobTimeout: 0]).jobTimeout == nil)
        let claimed = ClaimedJob(job: Job(id: "a", command: "true", maxRetries: 0, runAt: .now(), createdAt: .now(), updatedAt: .now()),
                                 runID: 1, config: QueueConfig(values: [.jobTimeout: 7]))
        #expect(claimed.effectiveTimeout == 7)
        var own = claimed
        own.job.timeout = 2
        #expect(own.effectiveTimeout == 2)
    }
}
