import ArgumentParser
import QueueCore

/// `queuectl status` and `queuectl list` with plain long options, built without
/// ArgumentParser's parse.
///
/// Scripts, prompts and dashboards poll these two. ArgumentParser reflects over
/// every option of the command and of its hidden completion-script options on each
/// call, and in a static binary each of those runtime type lookups scans all
/// 10,000 protocol conformances: 27 scans, over half the instructions of
/// `queuectl --version`. Here the options are read into the same plain values the
/// parsed command builds, checked by the same `validate()` and run by the same code.
///
/// Only the simplest form is taken: the command's name, then long options this
/// command has (`--name VALUE`, `--name=VALUE`, flags), each at most once, with
/// values that parse. Anything else (a short option, `--help`, a positional
/// argument, a repeated option, a value starting with `-` or one that does not
/// parse) goes through ArgumentParser, which reports it. `QuickCommandTests` runs
/// each form both ways and expects the same output and exit status. The commands'
/// work takes plain values (``StatusCommand/show(_:json:)``, ``ListRequest``), so
/// none of ArgumentParser's property wrappers is made here either.
/// (`enqueue` has its own short path, ``SimpleEnqueue``.)
enum QuickCommand {
    case status(PlainDatabaseOption, json: Bool)
    case list(PlainDatabaseOption, ListRequest)

    /// The command for `arguments` (after the program name), or nil when ArgumentParser must parse them.
    static func parse(_ arguments: [String]) -> QuickCommand? {
        switch arguments.first {
        case "status":
            guard let options = LongOptions(arguments.dropFirst(), valued: ["db"], flags: ["json"]) else { return nil }
            return .status(options.database, json: options.has("json"))
        case "list":
            guard let options = LongOptions(arguments.dropFirst(), valued: ["db", "state", "limit", "offset", "queue", "schedule", "tag"],
                                            flags: ["newest", "json"]),
                  let state = options.value("state", JobState.init(rawValue:)),
                  let limit = options.value("limit", Int.init),
                  let offset = options.value("offset", Int.init) else { return nil }
            return .list(options.database, ListRequest(
                state: state, limit: limit, offset: offset ?? 0, queue: options.values["queue"],
                schedule: options.values["schedule"], tag: options.values["tag"],
                newest: options.has("newest"), json: options.has("json")))
        default:
            return nil
        }
    }

    /// The command's own checks, as ArgumentParser runs them before `run`.
    func validate() throws {
        if case let .list(_, request) = self { try request.validate() }
    }

    func run() throws {
        switch self {
        case let .status(database, json): try StatusCommand.show(database, json: json)
        case let .list(database, request): try request.run(database)
        }
    }

    /// Long options split into values and flags; nil for any argument that is not
    /// one of them, given once. (Arrays, not sets: a `Set<String>` is a runtime
    /// type lookup this path otherwise does without.)
    struct LongOptions {
        private(set) var values: [String: String] = [:]
        private(set) var flags: [String] = []

        init?(_ arguments: ArraySlice<String>, valued: [String], flags allowed: [String]) {
            var rest = arguments
            while let argument = rest.popFirst() {
                guard argument.hasPrefix("--"), argument.count > 2 else { return nil }
                let body = argument.dropFirst(2)
                if let equals = body.firstIndex(of: "=") {
                    let name = String(body[..<equals])
                    let value = String(body[body.index(after: equals)...])
                    // ArgumentParser reads `--name=` as `--name` with its value to come.
                    guard valued.contains(name), values[name] == nil, !value.isEmpty else { return nil }
                    values[name] = value
                } else if valued.contains(String(body)) {
                    let name = String(body)
                    guard values[name] == nil, let value = rest.popFirst(), !value.hasPrefix("-") else { return nil }
                    values[name] = value
                } else if allowed.contains(String(body)), !flags.contains(String(body)) {
                    flags.append(String(body))
                } else {
                    return nil
                }
            }
        }

        func has(_ flag: String) -> Bool { flags.contains(flag) }

        /// `.some(nil)` when the option was not given, `.some(value)` when it parsed,
        /// nil when it did not parse (ArgumentParser then reports it).
        func value<T>(_ name: String, _ parse: (String) -> T?) -> T?? {
            guard let text = values[name] else { return .some(nil) }
            guard let value = parse(text) else { return nil }
            return .some(value)
        }

        /// `--db`, the option every command takes.
        var database: PlainDatabaseOption { PlainDatabaseOption(db: values["db"]) }
    }
}
