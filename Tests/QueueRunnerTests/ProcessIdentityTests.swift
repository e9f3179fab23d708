import Foundation
import Testing
@testable import QueueRunner

@Suite struct ProcessIdentityTests {
    @Test func knowsItsOwnProcess() {
        let ticks = ProcessIdentity.currentStartTicks
        #expect(ticks > 0)
        #expect(ProcessIdentity.isAlive(pid: ProcessIdentity.currentPID, startTicks: ticks))
    }

    @Test func aReusedPidIsNotTheRecordedProcess() {
        // Same pid, another start time: what a recycled pid looks like.
        #expect(!ProcessIdentity.isAlive(pid: ProcessIdentity.currentPID, startTicks: ProcessIdentity.currentStartTicks + 1))
        #expect(!ProcessIdentity.signalProcess(pid: ProcessIdentity.currentPID,
                                               startTicks: ProcessIdentity.currentStartTicks + 1, signal: SIGTERM))
    }

    @Test func aChildsStartTimeFromTheBootClockIsTheOneProcReports() throws {
        // The kernel's clock for process start times is the boot clock: on Linux the
        // check that lets workers skip reading /proc passes.
        #expect(ProcessIdentity.bootClockMatchesProc)
        for _ in 0..<20 {
            let before = ProcessIdentity.bootTicks()
            let sleeper = Process()
            sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
            sleeper.arguments = ["5"]
            try sleeper.run()
            let after = ProcessIdentity.bootTicks()
            defer { kill(sleeper.processIdentifier, SIGKILL); sleeper.waitUntilExit() }
            let pid = Int(sleeper.processIdentifier)
            let fromProc = try #require(ProcessIdentity.startTicks(of: pid))
            #expect(ProcessIdentity.startTicks(ofChild: pid, spawnedBetween: before, and: after) == fromProc)
            #expect((before...after).contains(fromProc))
        }
    }

    @Test func aMissingPidIsNotAlive() {
        #expect(ProcessIdentity.startTicks(of: 0) == nil)
        #expect(ProcessIdentity.startTicks(of: Int(Int32.max)) == nil)
    }

    @Test func aGroupLedByAnotherProcessIsNeverSignalled() throws {
        // A live process whose start time does not match the recorded one.
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        defer { kill(sleeper.processIdentifier, SIGKILL); sleeper.waitUntilExit() }
        let pid = Int(sleeper.processIdentifier)
        let ticks = try #require(ProcessIdentity.startTicks(of: pid))
        #expect(!ProcessIdentity.signalJobGroup(pgid: pid, startTicks: ticks + 7, signal: SIGKILL))
        usleep(50_000)
        #expect(sleeper.isRunning)
    }
}
