import Foundation
import Testing
@testable import QueueCore
@testable import QueueRunner

/// CommandRunner runs real `/bin/sh -c` commands; these tests check what a worker
/// relies on: outcomes, output capture and its cap, timeouts, cancellation, and
/// that nothing of a job's process group outlives its run.
@Suite struct CommandRunnerTests {
    let directory: String
    let environment = JobEnvironment()
    /// A cancel pipe that stays open for the whole test and never fires.
    let keepAlive = CancelPipe()

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func runner(timeout: Double? = nil, limit: Int64 = 1 << 20, grace: Double = 0.5, name: String = "out.log") -> CommandRunner {
        CommandRunner(logPath: directory + "/" + name, outputLimit: limit, timeout: timeout, killGrace: grace,
                      environment: environment, runVariables: ["QUEUECTL_JOB_ID=test-job", "QUEUECTL_ATTEMPT=2"])
    }

    /// A cancel pipe that never fires, unless `fire()` is called.
    final class CancelPipe: @unchecked Sendable {
        var fds: [Int32] = [-1, -1]
        init() { pipe(&fds); _ = fcntl(fds[0], F_SETFL, O_NONBLOCK) }
        deinit { close(fds[0]); close(fds[1]) }
        var sources: CancelSources { CancelSources(cancelFD: fds[0]) }
        func fire() { var b: UInt8 = 1; _ = write(fds[1], &b, 1) }
    }

    func log(_ name: String = "out.log") -> String {
        (try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)) ?? ""
    }

    @Test func exitZeroSucceedsAndCapturesStdoutAndStderr() {
        let cancel = CancelPipe()
        var spawnedPID = 0
        let report = runner().run("echo out; echo err >&2", cancel: cancel.sources) { pid, _ in spawnedPID = pid }
        #expect(report.result.outcome == .succeeded)
        #expect(report.result.exitCode == 0)
        #expect(spawnedPID > 0)
        #expect(log() == "out\nerr\n")
        #expect(report.result.outputBytes == 8)
    }

    @Test func nonZeroExitFailsWithCodeAndLastLine() {
        let report = runner().run("echo 'disk full'; exit 3", cancel: keepAlive.sources) { _, _ in }
        #expect(report.result.outcome == .failed)
        #expect(report.result.exitCode == 3)
        #expect(report.result.error == "exit code 3: disk full")
    }

    @Test func unknownCommandIsExit127() {
        let report = runner().run("definitely-not-a-command-xyz", cancel: keepAlive.sources) { _, _ in }
        #expect(report.result.outcome == .failed)
        #expect(report.result.exitCode == 127)
        #expect(report.result.error?.hasPrefix("command not found (exit 127)") == true)
    }

    @Test func deathBySignalIsRecorded() {
        let report = runner().run("kill -9 $$", cancel: keepAlive.sources) { _, _ in }
        #expect(report.result.outcome == .failed)
        #expect(report.result.signal == 9)
        #expect(report.result.exitCode == nil)
        #expect(report.result.error?.contains("SIGKILL") == true)
    }

    @Test func timeoutKillsTheWholeGroupEvenIfTermIsIgnored() {
        let marker = directory + "/child.pid"
        let start = Date()
        let report = runner(timeout: 0.5, grace: 0.3).run(
            "trap '' TERM; sleep 30 & echo $! > \(marker); wait", cancel: keepAlive.sources) { _, _ in }
        #expect(report.result.outcome == .timedOut)
        #expect(report.result.error == "timed out after 0.5 s")
        #expect(Date().timeIntervalSince(start) < 5)
        let child = Int32((try? String(contentsOfFile: marker, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        #expect(child > 0)
        // SIGKILL is delivered at once, but the child may take a moment to be reaped.
        let gone = (0..<100).contains { _ in
            if ProcessIdentity.startTicks(of: Int(child)) == nil { return true }
            usleep(20_000)
            return false
        }
        #expect(gone, "the job's background child must be gone")
    }

    /// The shell dies of SIGTERM at the timeout; a group member that ignores
    /// SIGTERM still gets SIGKILL once the grace is over.
    @Test func timeoutKillsTheGroupAfterTheGraceEvenWhenTheShellIsGone() {
        let marker = directory + "/ignorer.pid"
        let report = runner(timeout: 0.3, grace: 0.3).run(
            "(trap '' TERM; exec sleep 3931) & echo $! > \(marker); wait", cancel: keepAlive.sources) { _, _ in }
        #expect(report.result.outcome == .timedOut)
        let child = Int((try? String(contentsOfFile: marker, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        #expect(child > 0)
        let gone = (0..<50).contains { _ in
            if ProcessIdentity.startTicks(of: child) == nil { return true }
            usleep(20_000)
            return false
        }
        if !gone, (try? String(contentsOfFile: "/proc/\(child)/cmdline", encoding: .utf8))?.contains("3931") == true {
            kill(pid_t(child), SIGKILL)
        }
        #expect(gone, "a group member that ignores SIGTERM survived the timeout")
    }

    /// The stop descriptor (a user's cancel) ends the job as a timeout does: SIGTERM
    /// first, so the job can clean up.
    @Test func aStopRequestSendsTermBeforeKill() {
        let stop = CancelPipe()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { stop.fire() }
        let start = Date()
        let sources = CancelSources(cancelFD: keepAlive.fds[0], terminateFD: stop.fds[0])
        let report = runner(grace: 2).run("trap 'echo got TERM; exit 3' TERM; sleep 30 & wait", cancel: sources) { _, _ in }
        // Recorded as the user's cancel (not a lost lease): outcome cancelled, with the job's own exit.
        #expect(!report.cancelled)
        #expect(report.result.outcome == .cancelled && report.result.exitCode == 3)
        #expect(log() == "got TERM\n")
        #expect(Date().timeIntervalSince(start) < 2, "the job ended on SIGTERM, before the grace was over")
    }

    @Test func cancellationKillsTheRunAtOnce() {
        let cancel = CancelPipe()
        let start = Date()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { cancel.fire() }
        let report = runner().run("sleep 30", cancel: cancel.sources) { _, _ in }
        #expect(report.cancelled)
        #expect(report.result.outcome == .interrupted)
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func leftoverBackgroundProcessesAreEndedWithTheShell() {
        let marker = directory + "/bg.pid"
        let report = runner().run("sleep 30 & echo $! > \(marker)", cancel: keepAlive.sources) { _, _ in }
        #expect(report.result.outcome == .succeeded)
        let child = Int((try? String(contentsOfFile: marker, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        #expect(child > 0)
        let gone = (0..<50).contains { _ in
            if ProcessIdentity.startTicks(of: child) == nil { return true }
            usleep(20_000)
            return false
        }
        #expect(gone, "a job's background process must not outlive its run")
    }

    @Test func outputBeyondTheLimitIsCutWithANote() throws {
        let report = runner(limit: 1024).run("head -c 100000 /dev/zero | tr '\\0' 'x'", cancel: keepAlive.sources) { _, _ in }
        #expect(report.result.outcome == .succeeded)
        #expect(report.result.outputBytes == 100_000)
        let text = log()
        #expect(text.hasPrefix(String(repeating: "x", count: 1024) + "\n[queuectl: output truncated at 1024 bytes; 98976 more bytes dropped]"))
    }

    @Test func binaryOutputIsStoredAsIs() throws {
        let report = runner().run("printf '\\377\\000\\376'", cancel: keepAlive.sources) { _, _ in }
        #expect(report.result.outcome == .succeeded)
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/out.log"))
        #expect([UInt8](data) == [0xFF, 0x00, 0xFE])
    }

    @Test func silentJobsCreateNoLogFile() {
        _ = runner(name: "silent.log").run("true", cancel: keepAlive.sources) { _, _ in }
        #expect(!FileManager.default.fileExists(atPath: directory + "/silent.log"))
    }

    @Test func jobSeesItsIdAttemptAndANewSession() {
        let report = runner().run("echo $QUEUECTL_JOB_ID $QUEUECTL_ATTEMPT; ps -o sid= -p $$; echo $$", cancel: keepAlive.sources) { _, _ in }
        #expect(report.result.outcome == .succeeded)
        let lines = log().split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.first == "test-job 2")
        if lines.count == 3 { #expect(lines[1] == lines[2], "the shell leads its own session") }
    }

    @Test func stdinIsEmpty() {
        let report = runner().run("cat; echo done", cancel: keepAlive.sources) { _, _ in }
        #expect(report.result.outcome == .succeeded)
        #expect(log() == "done\n")
    }
}
