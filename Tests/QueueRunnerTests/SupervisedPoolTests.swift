import Foundation
import Testing
@testable import QueueCore
@testable import QueueRunner

/// The supervisor's book: restart backoff and what a stop does to due restarts.
@Suite struct SupervisedPoolTests {
    @Test func restartsBackOffWhileCrashesRepeatAndRecoverAfterTenMinutes() {
        var pool = SupervisedPool(count: 1, stopGeneration: 0)
        let delays = (0..<9).map { pool.crashed(now: 100 + Double($0)) }
        #expect(delays == [0.5, 1, 2, 4, 8, 16, 32, 60, 60])
        // Ten minutes after those crashes, a new one starts over.
        let afterQuiet = pool.crashed(now: 100 + 8 + 601)
        #expect(afterQuiet == 0.5)
    }

    @Test func aRestartIsDueOnlyAfterItsDelayAndNeverWhileStopping() {
        var pool = SupervisedPool(count: 2, stopGeneration: 0)
        _ = pool.crashed(now: 10)
        let early = pool.restartDue(now: 10.4)
        #expect(!early && pool.isActive)
        let due = pool.restartDue(now: 10.5)
        let again = pool.restartDue(now: 11)
        #expect(due && !again)
        _ = pool.crashed(now: 20)
        pool.stopping = true
        let whileStopping = pool.restartDue(now: 100)
        #expect(!whileStopping && !pool.isActive)
    }

    @Test func registeredWorkersAreAskedUnregisteredOnesSignalledOnce() {
        var pool = SupervisedPool(count: 2, stopGeneration: 0)
        pool.started(101)
        pool.started(102)
        let line = pool.registered(WorkerRecord(id: "w-a", pid: 101, pidStartTicks: 1, hostname: "h", startedAt: .now(), heartbeatAt: .now()))
        #expect(line == "worker w-a started (pid 101)")
        #expect(pool.idsToAsk() == ["w-a"])
        pool.asked(["w-a"])
        #expect(pool.idsToAsk().isEmpty)
        let first = pool.unregisteredToSignal(), second = pool.unregisteredToSignal()
        #expect(first == [102] && second.isEmpty)
        let a = pool.exited(101), b = pool.exited(102)
        #expect(a == "w-a" && b == nil)
        #expect(!pool.isActive)
    }
}
