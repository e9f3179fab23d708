import Testing
@testable import QueueRunner

/// How many jobs a worker claims at once, and when it may start one it claimed ahead.
@Suite struct ClaimAheadTests {
    @Test func theBatchDoublesWhileRunsAreShortAndHalvesAfterALongOne() {
        var batch = ClaimAhead()
        #expect(batch.limit == 1)
        batch.maximum = 8
        var limits: [Int] = []
        for _ in 0..<5 {
            batch.record(runSeconds: 0.002)
            limits.append(batch.limit)
        }
        #expect(limits == [2, 4, 8, 8, 8])
        limits = []
        for _ in 0..<5 {
            batch.record(runSeconds: ClaimAhead.shortRunSeconds)
            limits.append(batch.limit)
        }
        #expect(limits == [4, 2, 1, 1, 1], "long runs bring it back to one at a time")
        batch.record(runSeconds: 0.002)
        batch.record(runSeconds: 0.002)
        #expect(batch.limit == 4)
        batch.maximum = 1
        batch.record(runSeconds: 0.001)
        #expect(batch.limit == 1)
        batch.maximum = 8
        for _ in 0..<3 { batch.record(runSeconds: 0.001) }
        #expect(batch.limit == 8)
        batch.maximum = 2
        batch.record(runSeconds: 1)
        #expect(batch.limit == 2, "a lowered claim-batch caps the halved batch too")
    }

    @Test func aJobClaimedAheadStartsOnlyWhileClaimAndHeartbeatAreWellWithinTheLease() {
        #expect(ClaimAhead.canStartAhead(claimAge: 0.05, heartbeatAge: 0.3, lease: 10))
        // A stale claim (the worker was stopped), whatever the lease.
        #expect(!ClaimAhead.canStartAhead(claimAge: 1.2, heartbeatAge: 0.1, lease: 60))
        // A heartbeat half a lease old: recovery may release the worker soon.
        #expect(!ClaimAhead.canStartAhead(claimAge: 0.05, heartbeatAge: 5.1, lease: 10))
        // With a 1 s lease both must be under half a second.
        #expect(!ClaimAhead.canStartAhead(claimAge: 0.6, heartbeatAge: 0.1, lease: 1))
        #expect(!ClaimAhead.canStartAhead(claimAge: 0.1, heartbeatAge: 0.6, lease: 1))
        #expect(ClaimAhead.canStartAhead(claimAge: 0.1, heartbeatAge: 0.4, lease: 1))
    }
}
