import Foundation
import Testing
import QueueCore
import TestSupport

/// Workers killed with SIGKILL at random moments while a few hundred jobs of
/// different lengths run: nothing is lost, nothing stays processing, and a job
/// ran twice only when the history shows its first run was interrupted.
@Suite struct CrashChaosTests {
    @Test func killingWorkersAtRandomLosesNothing() throws {
        let sandbox = try QueueSandbox(name: "chaos")
        // A file store always: it reads the history with SQL and checks the file's integrity.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        let marker = sandbox.directory + "/marker"
        try sandbox.must(["config", "set", "backoff-base", "1"])
        try sandbox.must(["config", "set", "max-retries", "20"])
        let jobs = 200
        let lines = (0..<jobs).map { i in
            // Marks its start and its end, so a run cut short still leaves a trace.
            #"{"id":"c\#(i)","command":"echo $QUEUECTL_JOB_ID >> \#(marker).start; sleep 0.\#(i % 3)\#(i % 7); echo $QUEUECTL_JOB_ID >> \#(marker)"}"#
        }
        try sandbox.must(["enqueue", "-"], stdin: lines.joined(separator: "\n"))
        try sandbox.must(["worker", "start", "--count", "3"])
        // Two more workers under a foreground supervisor, which is killed too: its
        // workers then stop gracefully (they get SIGTERM when their parent dies).
        let supervisor = Process()
        supervisor.executableURL = URL(fileURLWithPath: QueueSandbox.binaryPath)
        supervisor.arguments = ["--db", db, "worker", "start", "--foreground", "--count", "2"]
        supervisor.standardError = FileHandle.nullDevice
        try supervisor.run()
        defer { if supervisor.isRunning { kill(supervisor.processIdentifier, SIGKILL) } }
        var kills = 0
        var killed: Set<String> = []
        var rng = SystemRandomNumberGenerator()
        for round in 0..<12 {
            usleep(UInt32.random(in: 50_000...250_000, using: &rng))
            if round == 6 {
                kill(supervisor.processIdentifier, SIGKILL)
                supervisor.waitUntilExit()
            }
            if let victim = try sandbox.workers().randomElement(using: &rng), kill(victim.pid, SIGKILL) == 0 {
                kills += 1
                killed.insert(victim.id)
            }
            try sandbox.must(["worker", "start", "--count", "1"])
        }
        #expect(try QueueSandbox.waitUntil(timeout: 90) { try sandbox.count("completed") + sandbox.count("dead") == jobs })
        #expect(try sandbox.count("processing") == 0)
        #expect(try sandbox.count("pending") == 0)
        #expect(try sandbox.count("dead") == 0, "20 retries are plenty for 12 kills")

        let ran = try String(contentsOfFile: marker, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(Set(ran).count == jobs, "lost: \(jobs - Set(ran).count)")
        // (A job may even reach its end twice, when its worker died between the end of
        // the command and the record: each start is checked below.)
        // A job that started n times has n - 1 interrupted runs, each on a killed worker.
        let started = try String(contentsOfFile: marker + ".start", encoding: .utf8).split(separator: "\n").map(String.init)
        let duplicates = Dictionary(grouping: started, by: { $0 }).filter { $0.value.count > 1 }
        for (id, starts) in duplicates {
            let interruptedBy = try sandbox.sql("select worker_id from runs where job_id = '\(id)' and outcome = 'interrupted'")
                .split(separator: "\n").map(String.init)
            #expect(interruptedBy.filter(killed.contains).count >= starts.count - 1,
                    "\(id) started \(starts.count) times with interrupted runs on \(interruptedBy) (killed: \(killed))")
        }
        // Every interrupted run belongs to a worker that was killed: no live worker
        // lost its lease, and a killed worker held at most one job.
        let interruptedOn = try sandbox.sql("select worker_id from runs where outcome = 'interrupted'").split(separator: "\n").map(String.init)
        let unexplained = Set(interruptedOn).subtracting(killed)
        let details = try unexplained.map { try sandbox.sql("select job_id, worker_id, outcome, error from runs where worker_id = '\($0)' and outcome = 'interrupted'") }
        // (The supervisor's own workers count: their graceful stop on its death must
        // not cancel their runs, however many times the death signal arrives.)
        #expect(unexplained.isEmpty, "interrupted runs on workers nobody killed: \(details)")
        #expect(interruptedOn.count == Set(interruptedOn).count)
        print("chaos: \(jobs) jobs, \(kills) workers and 1 supervisor killed, \(interruptedOn.count) interrupted runs recovered, "
              + "\(duplicates.count) jobs started twice (each after an interrupted run), \(jobs - Set(ran).count) lost")
        #expect(try sandbox.sql("pragma integrity_check") == "ok")
    }

    @Test func aKilledWorkersJobLeavesNoProcessBehind() throws {
        let sandbox = try QueueSandbox(name: "orphans")
        defer { sandbox.cleanup() }
        let pids = sandbox.directory + "/pids"
        // A job whose shell starts a background child and a foreground one.
        try sandbox.must(["enqueue", #"{"id":"tree","command":"sleep 300 & echo $! >> \#(pids); sleep 301 & echo $! >> \#(pids); wait"}"#])
        try sandbox.must(["worker", "start"])
        #expect(try QueueSandbox.waitUntil { (try? String(contentsOfFile: pids, encoding: .utf8))?.split(separator: "\n").count == 2 })
        let children = try String(contentsOfFile: pids, encoding: .utf8).split(separator: "\n").compactMap { Int32($0) }
        let pgid = getpgid(children[0])
        #expect(pgid > 0)
        for pid in try sandbox.workerPIDs() { kill(pid, SIGKILL) }
        // Any command that looks runs recovery, which ends the job's process group.
        #expect(try QueueSandbox.waitUntil(timeout: 10) {
            _ = try sandbox.run(["status"])
            return children.allSatisfy { kill($0, 0) != 0 } && killpg(pgid, 0) != 0
        }, "the job's process group survived its worker")
        #expect(try sandbox.store().runs(jobID: "tree").map(\.outcome) == [.interrupted])
    }

    @Test func aStaleWorkerRowNeverSignalsAnUnrelatedProcess() throws {
        let sandbox = try QueueSandbox(name: "identity")
        // A file store always: it plants a worker row with SQL.
        try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        try sandbox.must(["config", "set", "max-retries", "3"])   // creates the queue
        // An unrelated process, and a worker row that claims its pid with another start time.
        let bystander = try Process.run(URL(fileURLWithPath: "/bin/sleep"), arguments: ["60"])
        defer { kill(bystander.processIdentifier, SIGKILL); bystander.waitUntilExit() }
        let now = Timestamp.now().milliseconds
        _ = try sandbox.sql("""
            insert into workers (id, pid, pid_start, host, state, started_at, heartbeat_at)
            values ('w-stale', \(bystander.processIdentifier), 1, '\(ProcessInfo.processInfo.hostName)', 'idle', \(now), \(now))
            """)
        let stop = try sandbox.run(["worker", "stop", "--timeout", "2"])
        #expect(stop.status == 0, "\(stop)")
        usleep(200_000)
        #expect(bystander.isRunning, "worker stop signalled a process that only shares a pid")
        #expect(try sandbox.sql("select count(*) from workers") == "0", "the stale row is released")
    }
}
