import Foundation
import QueueCore
import Testing
import TestSupport

/// `depends_on`: blocked until dependencies complete, released without a poll
/// delay, cancelled down the chain when one fails, checked at enqueue.
@Suite struct DependencyTests {
    @Test func aDependentWaitsBlockedAndRunsRightAfterItsDependency() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.startWorkers(2)
        try sandbox.ok(["enqueue", "-"], stdin: """
            {"id":"first","command":"sleep 0.5; date +%s.%N > \(sandbox.path("first"))"}
            {"id":"second","command":"date +%s.%N > \(sandbox.path("second"))","depends_on":["first"]}
            """)
        #expect(try sandbox.state("second") == "blocked")
        #expect(try sandbox.run(["wait", "second", "--timeout", "10"]).status == 0)
        let first = try #require(Double(sandbox.lines(of: "first").first ?? ""))
        let second = try #require(Double(sandbox.lines(of: "second").first ?? ""))
        // Released in the dependency's own transaction and the doorbell rung: no poll delay.
        #expect(second > first && second - first < 0.5, "gap \(second - first) s")
        let shown = try sandbox.ok(["show", "first"]).stdout
        #expect(shown.contains("dependents  second (completed)"))
        #expect(try sandbox.job("second")["depends_on"]?.arrayValue == [.string("first")])
    }

    @Test func aDeadDependencyCancelsTheChainWithAReason() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        try sandbox.ok(["enqueue", "-"], stdin: """
            {"id":"a","command":"exit 1","max_retries":0}
            {"id":"b","command":"true","depends_on":["a"]}
            {"id":"c","command":"true","depends_on":["b"]}
            """)
        try sandbox.startWorkers(1)
        #expect(try sandbox.run(["wait", "c", "--timeout", "10"]).status == 5)
        #expect(try sandbox.job("b")["last_error"]?.stringValue == "dependency a ended dead")
        #expect(try sandbox.job("c")["last_error"]?.stringValue == "dependency b ended cancelled")
        #expect(try sandbox.history("c").isEmpty)
    }

    @Test func unknownOrLaterDependenciesAreRefusedAndNothingIsEnqueued() throws {
        let sandbox = try QueueSandbox()
        defer { sandbox.cleanup() }
        let unknown = try sandbox.run(["enqueue", "--command", "true", "--depends-on", "ghost"])
        #expect(unknown.status == 64 && unknown.stderr.contains("'ghost'"), "\(unknown)")
        let later = try sandbox.run(["enqueue", "-"], stdin: """
            {"id":"x","command":"true","depends_on":["y"]}
            {"id":"y","command":"true"}
            """)
        #expect(later.status == 64 && later.stderr.contains("(job 1)"), "\(later)")
        let own = try sandbox.run(["enqueue", #"{"id":"self","command":"true","depends_on":["self"]}"#])
        #expect(own.status == 64, "\(own)")
        #expect(try sandbox.counts().values.reduce(0, +) == 0)
    }
}
