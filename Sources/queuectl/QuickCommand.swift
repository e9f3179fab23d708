import ArgumentParser
import QueueCore

/// `queuectl status` and `queuectl list` with plain long options, built without
/// ArgumentParser's parse.
///
/// Scripts, prompts and dashboards poll these two. ArgumentParser reflects over
/// every option of the command and of its hidden completion-script options on each
/// call, and in a static binary each of those runtime type lookups scans all
/// 10,000 protocol conformances: 27 scans, over half the instructions of
/// `queuectl --version`. Here the same command value is filled in directly and
/// validated with its own `validate()`, then run by the same code.
///
/// Only the simplest form is taken: the command's name, then long options this
/// command has (`--name VALUE`, `--name=VALUE`, flags), each at most once, with
/// values that parse. Anything else (a short option, `--help`, a positional
/// argument, a repeated option, a value starting with `-` or one that does not
/// parse) goes through ArgumentParser, which reports it. `QuickCommandTests` runs
/// each form both ways and expects the same output and exit status.
/// (`enqueue` has its own short path, ``SimpleEnqueue``.)
enum QuickCommand {
    /// The command for `arguments` (after the program name), or nil when ArgumentParser must parse them.
    static func parse(_ arguments: [String]) -> ParsableCommand? {
        switch arguments.first {
        case "status":
            guard let options = LongOptions(arguments.dropFirst(), valued: ["db"], flags: ["json"]) else { return nil }
            var command = StatusCommand()
            command.global = options.global
            command.json = options.has("json")
            return command
        case "list":
            guard let options = LongOptions(arguments.dropFirst(), valued: ["db", "state", "limit", "offset", "queue", "schedule", "tag"],
                                            flags: ["newest", "json"]) else { return nil }
            var command = ListCommand()
            command.global = options.global
            guard let state = options.value("state", JobState.init(rawValue:)),
                  let limit = options.value("limit", Int.init),
                  let offset = options.value("offset", Int.init) else { return nil }
            command.state = state
            command.limit = limit
            command.offset = offset ?? 0
            command.queue = options.values["queue"]
            command.schedule = options.values["schedule"]
            command.tag = options.values["tag"]
            command.newest = options.has("newest")
            command.json = options.has("json")
            return command
        default:
            return nil
        }
    }

    /// Long options split into values and flags; nil for any argument that is not
    /// one of them, given once.
    struct LongOptions {
        private(set) var values: [String: String] = [:]
        private(set) var flags: Set<String> = []

        init?(_ arguments: ArraySlice<String>, valued: Set<String>, flags allowed: Set<String>) {
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
                    flags.insert(String(body))
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

        /// The options every command takes (`--db`).
        var global: GlobalOptions {
            var global = GlobalOptions()
            global.db = values["db"]
            return global
        }
    }
}
