import Foundation
import Testing
@testable import QueueCore

/// A stop of every worker also reaches workers that were still starting: they
/// register only if no such stop came since the generation their start read.
@Suite struct StoreStopGenerationTests {
    func record(_ id: String, _ f: StoreFixture) -> WorkerRecord {
        WorkerRecord(id: id, pid: Int(getpid()), pidStartTicks: 1, hostname: "store-tests.invalid", startedAt: f.now, heartbeatAt: f.now)
    }

    @Test func aWorkerStartedBeforeAStopOfAllIsRefused() throws {
        let f = try StoreFixture()
        let generation = try f.store.stopGeneration()
        #expect(try f.store.registerWorker(record("early", f), unlessStoppedSince: generation))
        let asked = try f.store.requestStopOfAllWorkers()
        #expect(asked.map(\.id) == ["early"])
        #expect(try f.workerRow("early")?.stopRequested == true)
        #expect(try f.store.stopGeneration() == generation + 1)
        // Started before the stop, registering after it: refused, nothing written.
        #expect(try !f.store.registerWorker(record("late", f), unlessStoppedSince: generation))
        #expect(try f.workerRow("late") == nil)
        // A start after the stop reads the new generation and registers.
        #expect(try f.store.registerWorker(record("next", f), unlessStoppedSince: f.store.stopGeneration()))
        #expect(try f.workerRow("next")?.stopRequested == false)
    }

    @Test func stoppingChosenWorkersLeavesTheGenerationAlone() throws {
        let f = try StoreFixture()
        let generation = try f.store.stopGeneration()
        try f.worker("w1")
        try f.store.requestStop(workerIDs: ["w1"])
        #expect(try f.store.stopGeneration() == generation)
        #expect(try f.store.registerWorker(record("w2", f), unlessStoppedSince: generation))
    }
}
