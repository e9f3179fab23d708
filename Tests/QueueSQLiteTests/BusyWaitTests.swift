import Foundation
import Testing
@testable import QueueCore
@testable import QueueSQLite

/// The busy handler: short, growing sleeps while another connection holds the
/// write lock, giving up after the store's timeout.
@Suite struct BusyWaitTests {
    @Test func sleepsStartShortDoubleAndAreCapped() {
        #expect(BusyWait.delay(afterTries: 0) == 20)
        #expect(BusyWait.delay(afterTries: 1) == 40)
        #expect(BusyWait.delay(afterTries: 4) == 320)
        #expect(BusyWait.delay(afterTries: 7) == 2_000)
        #expect(BusyWait.delay(afterTries: 1_000) == 2_000)
        #expect(BusyWait.delay(afterTries: -1) == 20)
    }

    @Test func givesUpOnceTheTimeoutHasPassed() {
        let wait = BusyWait(timeout: 0.05)
        #expect(wait.shouldRetry(tries: 0))
        usleep(60_000)
        #expect(!wait.shouldRetry(tries: 1))
        // The next wait starts a new deadline.
        #expect(wait.shouldRetry(tries: 0))
    }

    @Test func aWriteWaitsForTheLockAndThenSucceeds() throws {
        let fixture = try SQLiteFixture()
        let holder = try SQLiteJobStore(location: fixture.location)
        let release = DispatchSemaphore(value: 0)
        let done = holdWriteLock(holder, until: release)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { release.signal() }
        _ = try fixture.store.enqueue([JobSpec(id: "after-wait", command: "true")], now: fixture.now)
        done.wait()
        #expect(try fixture.store.job(id: "after-wait").state == .pending)
    }

    @Test func aShorterTimeoutAppliesOnlyInsideWithBusyTimeout() throws {
        let fixture = try SQLiteFixture()
        let holder = try SQLiteJobStore(location: fixture.location)
        let release = DispatchSemaphore(value: 0)
        let done = holdWriteLock(holder, until: release)
        let started = Date()
        #expect {
            try fixture.store.withBusyTimeout(seconds: 0.2) {
                _ = try fixture.store.enqueue([JobSpec(id: "gave-up", command: "true")], now: fixture.now)
            }
        } throws: { error in
            "\(error)".contains("locked by another process")
        }
        #expect(Date().timeIntervalSince(started) < 5)
        // Outside it, the store's own timeout (10 s) is back: a lock held for
        // another second is waited for.
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { release.signal() }
        _ = try fixture.store.enqueue([JobSpec(id: "waited", command: "true")], now: fixture.now)
        done.wait()
        #expect(throws: (any Error).self) { try fixture.store.job(id: "gave-up") }
        #expect(try fixture.store.job(id: "waited").state == .pending)
    }
}
