import Foundation
import Testing
import TestSupport

/// Workers claim short jobs in batches; a long run among them must hold back
/// neither the results of the runs before it nor the jobs claimed after it.
@Suite struct ClaimBatchTests {
    @Test func aLongRunRecordsWhatCameBeforeAndGivesBackWhatCameAfter() throws {
        let sandbox = try QueueSandbox()
        // A file store always: it reads workers.log beside the database.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        try sandbox.configure([("claim-batch", "8")])
        _ = try sandbox.startWorkers(1)
        let log = db + "-logs/workers.log"
        func logText() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

        // The batch grows only while runs stay short (under 10 ms): a busy machine can
        // make the run before the long one slow and the long one be claimed alone, so
        // the scenario is tried up to three times.
        var round = 0
        var gaveBack = false
        while round < 3 && !gaveBack {
            round += 1
            let warmUp = (0..<12).map { #"{"id":"warm\#(round)-\#($0)","command":"true"}"# }
            try sandbox.ok(["enqueue", "-"], stdin: warmUp.joined(separator: "\n"))
            try sandbox.waitForState("warm\(round)-11", "completed")
            // One enqueue (one transaction): two short jobs, a long one, five after it.
            let batch = [#"{"id":"before\#(round)-0","command":"true"}"#, #"{"id":"before\#(round)-1","command":"true"}"#,
                         #"{"id":"long\#(round)","command":"sleep 8"}"#]
                + (0..<5).map { #"{"id":"after\#(round)-\#($0)","command":"true"}"# }
            try sandbox.ok(["enqueue", "-"], stdin: batch.joined(separator: "\n"))
            try sandbox.waitForState("long\(round)", "processing")
            gaveBack = QueueSandbox.waitUntil(timeout: 2) {
                logText().contains("job long\(round) still running after 10 ms: gave back 5 jobs claimed ahead")
            }
            if !gaveBack {
                try sandbox.waitForState("long\(round)", "completed", timeout: 20)
                try sandbox.waitForState("after\(round)-4", "completed")
            }
        }
        #expect(gaveBack, "the long job was never claimed with jobs behind it:\n\(logText())")
        guard gaveBack else { return }

        // While the long job runs: the runs before it are recorded, the jobs after it
        // wait as if never claimed, and only the long one is processing.
        #expect(try sandbox.state("long\(round)") == "processing")
        for i in 0..<2 { #expect(try sandbox.state("before\(round)-\(i)") == "completed") }
        for i in 0..<5 {
            let job = try sandbox.job("after\(round)-\(i)")
            #expect(job["state"]?.stringValue == "pending" && job["attempts"]?.intValue == 0)
            #expect(job["history"]?.arrayValue?.isEmpty == true)
        }
        #expect(try sandbox.counts()["processing"] == 1)

        // Another worker takes them at once, long before the long job ends.
        _ = try sandbox.startWorkers(1)
        try sandbox.waitForState("after\(round)-4", "completed", timeout: 5)
        #expect(try sandbox.state("long\(round)") == "processing")
        for i in 0..<5 {
            let job = try sandbox.job("after\(round)-\(i)")
            #expect(job["attempts"]?.intValue == 1 && job["history"]?.arrayValue?.count == 1)
        }
        try sandbox.waitForState("long\(round)", "completed", timeout: 20)
    }

    @Test func claimBatchOneTakesOneJobAtATime() throws {
        let sandbox = try QueueSandbox()
        // A file store always: it reads workers.log beside the database.
        let db = try sandbox.requireFileStore()
        defer { sandbox.cleanup() }
        try sandbox.configure([("claim-batch", "1")])
        let jobs = (0..<30).map { #"{"id":"j\#($0)","command":"true"}"# }
            + [#"{"id":"long","command":"sleep 3"}"#, #"{"id":"last","command":"true"}"#]
        try sandbox.ok(["enqueue", "-"], stdin: jobs.joined(separator: "\n"))
        _ = try sandbox.startWorkers(1)
        try sandbox.waitForState("long", "processing")
        #expect(try sandbox.counts()["processing"] == 1)
        let last = try sandbox.job("last")
        #expect(last["state"]?.stringValue == "pending" && last["history"]?.arrayValue?.isEmpty == true)
        let log = (try? String(contentsOfFile: db + "-logs/workers.log", encoding: .utf8)) ?? ""
        #expect(!log.contains("claimed ahead"))
        try sandbox.waitForState("last", "completed", timeout: 20)
    }
}
