/// Names of queues: the `queue` field of a job, `worker start --queue a,b`, the
/// `queue` commands.
public enum QueueName {
    /// The queue of a job that names none.
    public static let defaultName = "default"

    /// A queue name follows the rule for job ids (printable ASCII without spaces,
    /// quotes or slashes, at most 128 bytes) and has no comma, which separates
    /// names in `--queue a,b`.
    public static func validate(_ name: String) throws {
        try JobID.validate(name, field: "queue")
        guard !name.contains(",") else {
            throw QueueError.invalidInput("\"queue\" must not contain a comma: \(name.debugDescription)")
        }
    }

    /// Parses `a,b,c` (each name validated, duplicates dropped, order kept).
    public static func list(_ text: String) throws -> [String] {
        var names: [String] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = String(part)
            try validate(name)
            if !names.contains(name) { names.append(name) }
        }
        return names
    }
}
