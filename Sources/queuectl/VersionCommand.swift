import ArgumentParser
import QueueCore
import QueueStores

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print queuectl's version (the same as --version).",
        discussion: """
            --json adds how this binary was built: the build configuration, the SQLite \
            library it runs on, and the platform.

            Examples:
              queuectl version
              queuectl version --json | jq -r .sqlite
            """
    )
    /// Accepted like by every command (`queuectl --db PATH version` works), unused.
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let version = Queuectl.configuration.version
        guard json else {
            print(version)
            return
        }
        Terminal.printJSON(.object([
            ("version", .string(version)),
            ("build", .string(Self.buildConfiguration)),
            ("sqlite", .string(StoreOpener.sqliteVersion)),
            ("os", .string(Self.operatingSystem)),
            ("arch", .string(Self.architecture)),
        ]))
    }

    static var buildConfiguration: String {
        #if DEBUG
        "debug"
        #else
        "release"
        #endif
    }

    static var operatingSystem: String {
        #if os(Linux)
        "linux"
        #elseif os(macOS)
        "macos"
        #else
        "other"
        #endif
    }

    static var architecture: String {
        #if arch(x86_64)
        "x86_64"
        #elseif arch(arm64)
        "arm64"
        #else
        "other"
        #endif
    }
}
