import Foundation
import QueueCore
import Testing
import TestSupport
@testable import QueuePostgres

@Suite(.enabled(if: TestPostgres.isConfigured, Comment(rawValue: TestPostgres.unsetReason)))
struct PostgresJobStoreSchedulesTests {
    let job = #"{"command": "echo tick"}"#

    @Test func addListPauseResumeRemove() throws {
        let f = try PostgresQueueFixture()
        let added = try f.store.addSchedule(name: "nightly", rule: .cron("0 3 * * *", timeZone: "Europe/Berlin"), job: job,
                                            catchUpAll: true, now: f.now)
        try f.store.addSchedule(name: "Beat", rule: .every(seconds: 90), job: job, catchUpAll: false, now: f.now)
        let listed = try f.store.schedules()
        #expect(listed.map(\.name) == ["Beat", "nightly"])
        #expect(listed[1] == added)
        #expect(listed[0].nextAt == f.now.adding(seconds: 90) && !listed[0].catchUpAll)

        let paused = try f.store.setSchedulePaused(name: "Beat", true, now: f.now)
        #expect(paused.paused && paused.nextAt == f.now.adding(seconds: 90))
        // Resumed after ticks went by: the next tick is the first after now, on the grid.
        let resumed = try f.store.setSchedulePaused(name: "Beat", false, now: f.now.adding(seconds: 200))
        #expect(!resumed.paused && resumed.nextAt == f.now.adding(seconds: 270))
        #expect(try f.store.schedules()[0] == resumed)

        try f.store.removeSchedule(name: "Beat")
        #expect(try f.store.schedules().map(\.name) == ["nightly"])
    }

    @Test func errorsMatchTheSQLiteStore() throws {
        let f = try PostgresQueueFixture()
        try f.store.addSchedule(name: "s", rule: .every(seconds: 60), job: job, catchUpAll: false, now: f.now)
        let taken = try #require(throws: QueueError.self) {
            try f.store.addSchedule(name: "s", rule: .every(seconds: 60), job: job, catchUpAll: false, now: f.now)
        }
        #expect(taken == .invalidInput("a schedule named 's' exists; remove it first"))
        #expect(try #require(throws: QueueError.self) { try f.store.removeSchedule(name: "x") } == .notFound("no schedule named 'x'"))
        #expect(try #require(throws: QueueError.self) { try f.store.setSchedulePaused(name: "x", true, now: f.now) }
                == .notFound("no schedule named 'x'"))
        #expect(throws: QueueError.self) { try f.store.addSchedule(name: "bad", rule: .every(seconds: 0.5), job: job, catchUpAll: false, now: f.now) }
        #expect(try f.store.schedules().count == 1)
    }
}
