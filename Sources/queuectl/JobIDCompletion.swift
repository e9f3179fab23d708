import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import QueueCore
import QueueStores

/// Shell completion of job ids from the database (`completion: JobIDCompletion.any`
/// on an `@Argument` that names jobs).
///
/// The shell runs queuectl on every Tab press, so this must be quick and quiet: it
/// reads the database the command line names (`--db PATH`, else `$QUEUECTL_DB`,
/// else the default) through a read-only connection, never creates it, and turns
/// every failure (no database, locked, not a queue) into no candidates rather
/// than a message in the middle of the user's command line.
enum JobIDCompletion {
    /// Any job's id.
    static let any: CompletionKind = .custom { words, _, prefix in candidates(words: words, prefix: prefix, state: nil) }
    /// Ids of jobs in the dead letter queue (`dlq retry`).
    static let dead: CompletionKind = .custom { words, _, prefix in candidates(words: words, prefix: prefix, state: .dead) }

    static func candidates(words: [String], prefix: String, state: JobState?) -> [String] {
        guard let address = try? StoreAddress.resolve(explicit: databaseArgument(in: words)) else { return [] }
        return (try? StoreOpener.jobIDs(at: address, startingWith: unquoted(prefix), state: state)) ?? []
    }

    /// The value of `--db PATH` or `--db=PATH` among the words typed so far.
    static func databaseArgument(in words: [String]) -> String? {
        var found: String?
        for (index, word) in words.enumerated() {
            if word == "--db", index + 1 < words.count {
                found = words[index + 1]
            } else if word.hasPrefix("--db=") {
                found = String(word.dropFirst("--db=".count))
            }
        }
        return found.map(unquoted).map(expandingTilde)
    }

    /// Shells pass words verbatim: drop one pair of surrounding quotes.
    static func unquoted(_ word: String) -> String {
        for quote in ["'", "\""] where word.count >= 2 && word.hasPrefix(quote) && word.hasSuffix(quote) {
            return String(word.dropFirst().dropLast())
        }
        if let first = word.first, first == "'" || first == "\"" { return String(word.dropFirst()) }
        return word
    }

    /// `~/x` as the shell would expand it when the command runs.
    static func expandingTilde(_ path: String) -> String {
        guard path.hasPrefix("~/"), let home = getenv("HOME").map({ String(cString: $0) }) else { return path }
        return home + path.dropFirst(1)
    }
}
