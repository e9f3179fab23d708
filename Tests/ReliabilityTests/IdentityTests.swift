import Foundation
import Testing
import QueueCore
import QueueSQLite
import TestSupport

/// Recovery kills a dead worker's job by process group. When the recorded pid now
/// leads an unrelated process group (the pid was reused), nothing may be signalled.
@Suite struct IdentityTests {
    @Test func recoveryNeverSignalsAGroupWhosePidWasReused() throws {
        let sandbox = try QueueSandbox(name: "identity-recovery")
        // A file store always: it plants a dead worker's rows with SQL and its running-job file beside the database.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        try sandbox.must(["enqueue", #"{"id":"held","command":"true"}"#])
        // An unrelated process that leads its own process group, like a reused job pid.
        let pid = try spawnGroupLeader(["/bin/sleep", "60"])
        defer { killAndReap(pid) }
        #expect(getpgid(pid) == pid, "the bystander does not lead a group")

        // A dead worker whose run claims that pid with another start time: in its
        // row, in the run's history and in the file a worker publishes its run in.
        let now = Timestamp.now().milliseconds
        let host = hostName()
        _ = try sandbox.sql("""
            insert into workers (id, pid, pid_start, host, state, job_id, started_at, heartbeat_at)
                values ('w-gone', \(pid), 1, '\(host)', 'busy', 'held', \(now - 60_000), \(now - 60_000));
            update jobs set state = 'processing', attempts = 1, worker_id = 'w-gone' where id = 'held';
            insert into runs (job_id, attempt, worker_id, queued_at, started_at, pid, pid_start)
                values ('held', 1, 'w-gone', \(now - 60_000), \(now - 60_000), \(pid), 1);
            """)
        let runID = try sandbox.sql("select id from runs where job_id = 'held'")
        try FileManager.default.createDirectory(atPath: db + "-logs/workers", withIntermediateDirectories: true)
        try "\(runID) \(pid) 1\n".write(toFile: db + "-logs/workers/w-gone.run", atomically: true, encoding: .utf8)

        // Looking runs recovery: the job is released, the bystander lives on.
        try sandbox.must(["status"])
        #expect(try sandbox.sql("select outcome from runs where job_id = 'held'") == "interrupted")
        #expect(try sandbox.sql("select state from jobs where id = 'held'") != "processing")
        #expect(try sandbox.sql("select count(*) from workers") == "0")
        usleep(200_000)
        #expect(isLiveProcess(pid), "recovery signalled a process group that only shares a pid")

        // A worker that then runs the retry does not touch it either.
        try sandbox.must(["config", "set", "backoff-base", "1"])
        _ = try sandbox.startWorkers(1)
        #expect(try QueueSandbox.waitUntil(timeout: 15) { try sandbox.sql("select state from jobs where id = 'held'") == "completed" })
        #expect(isLiveProcess(pid))
    }
}

/// This host's name as workers record it.
func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, buffer.count - 1)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
