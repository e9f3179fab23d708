import Foundation
import PostgresNIO

/// The SQL of a statement a worker runs for every batch of jobs (claims and
/// results). Written with `$1…$n` placeholders and table names without a schema:
/// a session's `search_path` is its address's schema, fixed for the connection,
/// so one prepared statement per connection serves one queue.
public protocol PreparedText: Sendable {
    static var sql: String { get }
}

/// A ``PreparedText`` with its values, for ``PostgresSession/prepared(_:)``.
/// postgres-nio prepares it on a connection's first use (named after the text's
/// type) and only binds and executes it afterwards.
public struct PreparedStatement<Text: PreparedText>: PostgresPreparedStatement {
    public typealias Row = PostgresRow
    public static var name: String { "queuectl.\(Text.self)" }
    public static var sql: String { Text.sql }

    let bindings: PostgresBindings

    /// `values` bind `$1…$n` in order (nil binds NULL).
    public init(_ values: [(any PostgresEncodable)?]) throws {
        var bindings = PostgresBindings(capacity: values.count)
        for value in values {
            if let value { try bindings.append(value) } else { bindings.appendNull() }
        }
        self.bindings = bindings
    }

    public func makeBindings() -> PostgresBindings { bindings }
    public func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

/// A result one thread waits for while a task produces it.
final class WaitedOutcome<Value>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, any Error>?

    func finish(_ result: Result<Value, any Error>) {
        self.result = result
        done.signal()
    }

    func wait() throws -> Value {
        done.wait()
        return try result!.get()
    }
}

/// Runs a task's jobs on one NIO event loop, so that a thread blocked waiting
/// for the task (see ``PostgresSession/prepared(_:)``) never holds a thread the
/// task needs.
final class EventLoopTaskExecutor: TaskExecutor {
    private let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
