import ArgumentParser
import Foundation
import QueueCore
import QueueWeb

struct WebCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web",
        abstract: "Serve the web dashboard, the JSON API and /metrics.",
        discussion: """
            Pages: overview (counts, throughput, workers, queues), jobs by state with \
            search and paging, a job with its runs and output, the dead letter queue \
            with retry, workers. They update live (server-sent events at /events). \
            JSON under /api/ (status, jobs, jobs/ID, workers, queues) returns the same \
            objects as --json; /metrics is the text of `queuectl metrics`.

            It listens on loopback by default. Any other address needs a token \
            (--token or --token-file), sent as "Authorization: Bearer TOKEN" or set \
            once in the browser by opening /?token=TOKEN. Actions are POSTs checked \
            against a token made at each start; --readonly removes them. Stop with \
            Ctrl-C or SIGTERM.

            Examples:
              queuectl web
              queuectl web --listen 127.0.0.1:0 --readonly
              queuectl web --listen 0.0.0.0:8080 --token-file ~/.config/queuectl/web-token
              curl -s localhost:8080/api/status | jq .jobs
            """
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Address and port to listen on (port 0: any free port).", valueName: "host:port"))
    var listen = "127.0.0.1:8080"
    @Flag(help: "Show only: no actions, every POST refused.")
    var readonly = false
    @Option(help: ArgumentHelp("Token every request must carry (visible to other users in `ps`: prefer --token-file).", valueName: "token"))
    var token: String?
    @Option(help: ArgumentHelp("File holding the token (its first line).", valueName: "path"))
    var tokenFile: String?

    func run() throws {
        try reportingErrors {
            let (host, port) = try Self.parseListen(listen)
            let token = try readToken()
            if !Self.isLoopback(host), token == nil {
                throw QueueError.invalidInput("--listen \(listen) is not a loopback address: give --token or --token-file")
            }
            let store = try global.openStoreForReading()
            let server = WebServer(store: store, options: .init(host: host, port: port, readonly: readonly, token: token,
                                                               version: Queuectl.configuration.version))
            let done = DispatchSemaphore(value: 0)
            let failure = LockedError()
            Task {
                do {
                    try await server.run { address in
                        // Unbuffered: a script or test reading stdout learns the port at once.
                        let line = "queuectl web: serving \(store.displayAddress) at \(address)\(readonly ? " (read-only)" : "")\n"
                        FileHandle.standardOutput.write(Data(line.utf8))
                    }
                } catch {
                    failure.set(error)
                }
                done.signal()
            }
            done.wait()
            if let error = failure.get() { throw QueueError.runtime("web server: \(error)") }
        }
    }

    private func readToken() throws -> String? {
        if token != nil, tokenFile != nil { throw QueueError.invalidInput("give --token or --token-file, not both") }
        var value = token
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw QueueError.invalidInput("cannot read the token file \(tokenFile)")
            }
            value = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        }
        guard let value else { return nil }
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard trimmed.count >= 8, trimmed.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != ";" && $0 != "," && $0 != "\"" }) else {
            throw QueueError.invalidInput("the token must be at least 8 printable characters without spaces, quotes, ',' or ';'")
        }
        return trimmed
    }

    /// `HOST:PORT`, `[V6]:PORT`, or `:PORT` (loopback).
    static func parseListen(_ text: String) throws -> (String, Int) {
        let bad = QueueError.invalidInput("--listen \(text): expected HOST:PORT, e.g. 127.0.0.1:8080")
        guard let colon = text.lastIndex(of: ":") else { throw bad }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "127.0.0.1" }
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { throw bad }
        return (host, port)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

/// The error a server task ended with, handed to the waiting thread.
private final class LockedError: @unchecked Sendable {
    private let lock = NSLock()
    private var error: Error?
    func set(_ e: Error) { lock.withLock { error = e } }
    func get() -> Error? { lock.withLock { error } }
}
