import Foundation
import QueueCore
import Testing
import TestSupport

/// The small things a demanding user notices: typo suggestions, help without
/// repeats, the worker's pid of a running job.
@Suite struct SmallThingsTests {
    @Test(arguments: [
        (["statsu"], "did you mean 'status' or 'stats'?"),
        (["lsit"], "did you mean 'list'?"),
        (["worker", "strat"], "did you mean 'start'?"),
        (["dlq", "retyr", "x"], "did you mean 'retry'?"),
        (["xyzzy"], "unknown command \"xyzzy\""),
    ])
    func aMistypedCommandGetsASuggestion(arguments: [String], fragment: String) throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let result = try sandbox.run(arguments)
        #expect(result.status == 64, "\(result)")
        #expect(result.stderr.hasPrefix("error: unknown command") && result.stderr.contains(fragment), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func helpSaysEachThingOnce() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let list = try sandbox.ok(["list", "--help"]).stdout
        #expect(!list.contains("(default: 100)") && list.contains("default: 100; with --json, all"), "\(list)")
        #expect(list.components(separatedBy: "processing").count == 2, "the states are listed once: \(list)")
        let set = try sandbox.ok(["config", "set", "--help"]).stdout
        #expect(!set.contains("raw-values") && set.contains("<value>"), "\(set)")
        let help = try sandbox.runRaw(["help", "worker"], environment: ["QUEUECTL_DB": sandbox.address])
        #expect(help.status == 0 && help.stdout.contains("USAGE"), "queuectl help still works: \(help)")
    }

    @Test func showJSONNamesTheWorkerPidOfARunningJob() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.enqueue(#"{"id":"slow","command":"sleep 30"}"#)
        let workers = try sandbox.startWorkers(1)
        let running = try sandbox.waitForState("slow", "processing")
        #expect(running["worker_pid"]?.intValue == Int(workers[0].pid), "\(running.serialized())")
        try sandbox.enqueue(#"{"id":"waiting","command":"true","delay":3600}"#)
        #expect(try sandbox.job("waiting")["worker_pid"]?.isNull == true)
    }
}
