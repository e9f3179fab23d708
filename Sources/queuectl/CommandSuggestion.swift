import ArgumentParser
import QueueCore

/// "did you mean 'stats'?" for a mistyped command name (`queuectl statsu`,
/// `queuectl worker strat`): the closest command within two edits.
enum CommandSuggestion {
    /// The error message for `arguments` when a command name in them is unknown
    /// (nil when the names are all known, and ArgumentParser reports the rest).
    static func unknownCommand(in arguments: [String], root: ParsableCommand.Type) -> String? {
        var command: ParsableCommand.Type = root
        var path = ""
        for word in arguments {
            let subcommands = command.configuration.subcommands
            // `help` is ArgumentParser's own (`queuectl help worker`).
            guard !subcommands.isEmpty, !word.hasPrefix("-"), word != "help" else { return nil }
            let names = subcommands.compactMap { $0.configuration.commandName }
            guard let next = subcommands.first(where: { $0.configuration.commandName == word }) else {
                let guesses = closest(to: word, in: names).map { "'\($0)'" }
                let hint = guesses.isEmpty ? "" : "; did you mean \(guesses.joined(separator: " or "))?"
                return "unknown command \(SafeText.quoted(word)) for queuectl\(path)\(hint)"
            }
            command = next
            path += " " + word
        }
        return nil
    }

    /// The names nearest to `word`, within two edits (and within half its length).
    static func closest(to word: String, in names: [String]) -> [String] {
        let scored = names.map { ($0, distance(word.lowercased(), $0)) }.filter { $0.1 <= min(2, max(1, word.count / 2)) }
        guard let best = scored.map(\.1).min() else { return [] }
        return scored.filter { $0.1 == best }.map(\.0)
    }

    /// Edit distance with adjacent swaps counting one (Damerau–Levenshtein, optimal
    /// string alignment): "statsu" is one edit from "status".
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }
}
