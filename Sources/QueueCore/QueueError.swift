/// The errors of queuectl, each with a one-line human message and a category that
/// maps to a documented exit code.
public struct QueueError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Bad input: invalid JSON, unknown key, out-of-range value, duplicate id (exit 64).
        case invalidInput
        /// A job, worker or run that does not exist (exit 3).
        case notFound
        /// The database or the system failed (exit 1).
        case runtime
        /// The job's state does not allow the operation, e.g. cancelling a job that
        /// is already final (exit 4).
        case conflict

        /// The exit status a command ends with for this kind of error (and a worker
        /// process, whose supervisor reads it).
        public var exitStatus: Int32 {
            switch self {
            case .invalidInput: return 64
            case .notFound: return 3
            case .runtime: return 1
            case .conflict: return 4
            }
        }
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    public static func invalidInput(_ message: String) -> QueueError { QueueError(.invalidInput, message) }
    public static func notFound(_ message: String) -> QueueError { QueueError(.notFound, message) }
    public static func runtime(_ message: String) -> QueueError { QueueError(.runtime, message) }
    public static func conflict(_ message: String) -> QueueError { QueueError(.conflict, message) }
}
