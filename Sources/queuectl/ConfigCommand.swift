import ArgumentParser
import QueueCore

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Read and change settings stored in the database.",
        discussion: """
            Keys:
            \(ConfigKey.allCases.map { "  \($0.rawValue + String(repeating: " ", count: max(0, 14 - $0.rawValue.count))) \($0.summary); default \($0.display($0.defaultValue))" }.joined(separator: "\n"))

            Examples:
              queuectl config set max-retries 5
              queuectl config set backoff-base 3
              queuectl config set job-timeout 10m     # durations: 90s, 5m, 1h, 2d or seconds
              queuectl config get lease-timeout
              queuectl config list --json
              queuectl config unset backoff-max
            """,
        subcommands: [Set.self, Get.self, List.self, Unset.self]
    )

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Set a key.", discussion: "Example: queuectl config set max-retries 5")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key (max-retries, backoff-base, backoff-max, job-timeout, lease-timeout, output-limit, kill-grace, claim-batch).", completion: .list(ConfigKey.allCases.map(\.rawValue)))
        var key: String
        @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The value.", valueName: "value"))
        var rawValues: [String] = []

        /// The value words, without a `--` used to mark the end of options.
        private var values: [String] { rawValues.filter { $0 != "--" } }

        func validate() throws {
            guard values.count == 1 else { throw ValidationError(values.isEmpty ? "give a value" : "give exactly one value") }
        }

        private var value: String { values[0] }

        func run() throws {
            try reportingErrors {
                let key = try ConfigKey(name: key)
                let parsed = try key.parse(value)
                try global.openStore().setConfig(key, parsed)
                print("\(key.rawValue) = \(key.display(parsed))")
            }
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get",
            abstract: "Print a key's value (its default when unset; \"none\" for no value).",
            discussion: "Example: queuectl config get max-retries")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key.", completion: .list(ConfigKey.allCases.map(\.rawValue)))
        var key: String

        func run() throws {
            try reportingErrors {
                let key = try ConfigKey(name: key)
                print(key.format(try global.openExistingStore().config().value(key)))
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "Print every key with its value.",
            discussion: "Examples:\n  queuectl config list\n  queuectl config list --json")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print one JSON object mapping each key to its value.")
        var json = false

        func run() throws {
            try reportingErrors {
                let config = try global.openExistingStore().config()
                if json {
                    Terminal.printJSON(.object(ConfigKey.allCases.map { ($0.rawValue, .optional(config.value($0))) }))
                    return
                }
                print(Terminal.table(["KEY", "VALUE", "SOURCE", "MEANING"], ConfigKey.allCases.map { key in
                    [key.rawValue, key.display(config.value(key)), config.values[key] == nil ? "default" : "set", key.summary]
                }))
            }
        }
    }

    struct Unset: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unset", abstract: "Return a key to its default.", discussion: "Example: queuectl config unset backoff-max")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key.", completion: .list(ConfigKey.allCases.map(\.rawValue)))
        var key: String

        func run() throws {
            try reportingErrors {
                let key = try ConfigKey(name: key)
                try global.openExistingStore().unsetConfig(key)
                print("\(key.rawValue) = \(key.display(key.defaultValue)) (default)")
            }
        }
    }
}
