import Foundation
import QueueCore
import Testing
import TestSupport

/// Where and how a job runs (cwd, env, --here), tags, and retries by exit code.
@Suite struct RunOptionsTests {
    @Test func cwdAndEnvAreAppliedAndValidated() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.startWorkers(1)
        let result = try sandbox.run(["enqueue", "--wait", "--cwd", sandbox.directory, "--env", "GREETING=hi there",
                                      "--env", "HOME=/nowhere", "--command", #"pwd; echo "$GREETING $HOME""#])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout == "\(sandbox.directory)\nhi there /nowhere\n")
        let missing = try sandbox.run(["enqueue", "--wait", "--max-retries", "0", "--cwd", "/no/such/dir", "--command", "true"])
        #expect(missing.status == 5 && missing.stderr.contains("working directory /no/such/dir does not exist"), "\(missing)")
        let relative = try sandbox.run(["enqueue", #"{"command":"true","cwd":"tmp"}"#])
        #expect(relative.status == 64 && relative.stderr.contains("absolute"), "\(relative)")
        let badName = try sandbox.run(["enqueue", #"{"command":"true","env":{"1X":"y"}}"#])
        #expect(badName.status == 64, "\(badName)")
    }

    @Test func hereRecordsTheCallersDirectoryAndTagsFilterTheList() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let id = try sandbox.ok(["enqueue", "--here", "--tag", "nightly", "--command", "true"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try sandbox.enqueue(#"{"command":"true","tags":["other"]}"#)
        #expect(try sandbox.job(id)["cwd"]?.stringValue == FileManager.default.currentDirectoryPath)
        let tagged = try sandbox.json(["list", "--tag", "nightly"]).arrayValue ?? []
        #expect(tagged.compactMap { $0["id"]?.stringValue } == [id])
    }

    @Test func noRetryExitGoesStraightToDead() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.configure([("backoff-base", "1")])
        try sandbox.enqueue(#"{"id":"usage","command":"exit 2","max_retries":5,"no_retry_exit":[2]}"#)
        try sandbox.enqueue(#"{"id":"only75","command":"exit 1","max_retries":5,"retry_on_exit":[75]}"#)
        try sandbox.startWorkers(1)
        try sandbox.run(["wait", "usage", "only75", "--timeout", "10"])
        #expect(try sandbox.job("usage")["attempts"]?.intValue == 1 && sandbox.state("usage") == "dead")
        #expect(try sandbox.job("only75")["attempts"]?.intValue == 1 && sandbox.state("only75") == "dead")
        let both = try sandbox.run(["enqueue", #"{"command":"true","retry_on_exit":[1],"no_retry_exit":[1]}"#])
        #expect(both.status == 64, "\(both)")
    }
}
