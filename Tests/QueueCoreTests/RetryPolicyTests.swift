import Foundation
import Testing
@testable import QueueCore

/// Backoff: after the n-th failed run the retry waits base^n seconds, capped.
@Suite struct RetryPolicyTests {
    @Test func delayIsBaseToTheNumberOfFailedRuns() {
        let two = RetryPolicy(base: 2)
        #expect((1...5).map { two.delay(afterFailedRuns: $0) } == [2, 4, 8, 16, 32])
        let small = RetryPolicy(base: 1.5)
        #expect(small.delay(afterFailedRuns: 1) == 1.5)
        #expect(small.delay(afterFailedRuns: 2) == 2.25)
        #expect(RetryPolicy(base: 1).delay(afterFailedRuns: 50) == 1)
    }

    @Test func capAppliesWhenSet() {
        let capped = RetryPolicy(base: 2, maxDelay: 5)
        #expect((1...4).map { capped.delay(afterFailedRuns: $0) } == [2, 4, 5, 5])
        #expect(RetryPolicy(base: 2, maxDelay: 0).delay(afterFailedRuns: 3) == 0)
    }

    @Test func hugeExponentsStayFiniteAndBounded() {
        let d = RetryPolicy(base: 1000).delay(afterFailedRuns: 1000)
        #expect(d.isFinite && d > 0 && d <= 1e9)
        // A delay that large still yields a valid, representable run_at.
        let at = Timestamp(milliseconds: 1_800_000_000_000).adding(seconds: d)
        #expect(at > Timestamp(milliseconds: 1_800_000_000_000))
        #expect(at <= Timestamp.distantFuture)
    }

    @Test func retriesLeftCountsRunsStarted() {
        #expect(RetryPolicy.hasRetriesLeft(attempts: 1, maxRetries: 0) == false)
        #expect(RetryPolicy.hasRetriesLeft(attempts: 1, maxRetries: 2))
        #expect(RetryPolicy.hasRetriesLeft(attempts: 2, maxRetries: 2))
        #expect(RetryPolicy.hasRetriesLeft(attempts: 3, maxRetries: 2) == false)
    }

    @Test func jitterShortensTheDelayByAtMostItsFraction() {
        let policy = RetryPolicy(base: 2, maxDelay: 10, jitter: 0.5)
        #expect(policy.jitteredDelay(afterFailedRuns: 3, unit: 0) == 8)
        #expect(policy.jitteredDelay(afterFailedRuns: 3, unit: 0.999) > 4)
        #expect(policy.jitteredDelay(afterFailedRuns: 5, unit: 1) == 5)
        #expect(RetryPolicy(base: 2).jitteredDelay(afterFailedRuns: 3, unit: 0.7) == 8)
    }
}
