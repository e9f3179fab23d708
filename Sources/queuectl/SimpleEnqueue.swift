import ArgumentParser
import Foundation

/// `queuectl enqueue JSON` and `queuectl enqueue -` (with `--db PATH` and `--json`
/// at most), run without the argument parser.
///
/// Scripts call `enqueue` once per job, so its start-up is the command's latency.
/// ArgumentParser reflects over every option of the command, and of its hidden
/// completion-script options, on every call: in a static binary those runtime type
/// lookups cost about 3 ms of a 14 ms call. Any other form, including every other
/// option, `--help` and anything that does not parse here, goes through
/// ArgumentParser; both paths share ``EnqueueCommand/enqueue(json:db:jsonOutput:)``,
/// so the output, errors and exit codes are the same.
struct SimpleEnqueue {
    let json: String
    let db: String?
    let jsonOutput: Bool

    /// The arguments after the program name; nil unless they are exactly
    /// `enqueue`, one JSON argument (or `-`) and optionally `--db PATH`/`--db=PATH`
    /// and `--json`, each at most once.
    init?(_ arguments: [String]) {
        guard arguments.first == "enqueue", arguments.count <= 5 else { return nil }
        var json: String?
        var db: String?
        var jsonOutput = false
        var rest = arguments.dropFirst()
        while let argument = rest.popFirst() {
            if argument == "--json", !jsonOutput {
                jsonOutput = true
            } else if argument == "--db", db == nil, let path = rest.popFirst(), !path.hasPrefix("-") {
                db = path
            } else if argument.hasPrefix("--db="), db == nil {
                db = String(argument.dropFirst(5))
            } else if json == nil, argument == "-" || !argument.hasPrefix("-") {
                json = argument
            } else {
                return nil
            }
        }
        guard let json else { return nil }
        self.json = json
        self.db = db
        self.jsonOutput = jsonOutput
    }

    /// Enqueues and returns the exit status.
    func run() -> Int32 {
        do {
            try reportingErrors {
                try EnqueueCommand.enqueue(json: json, db: db, jsonOutput: jsonOutput)
            }
            return 0
        } catch let exit as ExitCode {
            return exit.rawValue
        } catch {
            Terminal.printError("\(error)")
            return 1
        }
    }
}
