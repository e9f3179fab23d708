import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension QueueSandbox {
    /// Runs a program with `posix_spawn` and a blocking `waitpid`, output to
    /// temporary files. For programs that fork daemons and exit at once (tmux),
    /// whose exit Foundation's `Process` can miss.
    public static func spawnAndWait(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> CLIResult {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("qc-direct-\(UUID().uuidString)").path
        let err = out + ".err"
        defer { unlink(out); unlink(err) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        // Default signal handling and an empty mask, whatever this test thread has:
        // tmux and the programs in its panes inherit them.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, path, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw missingProgram(path, rc) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return CLIResult(status: code,
                         stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }
}

/// Starts `argv` as the leader of a new session and process group (like a job's
/// shell), without Foundation's Process in between. Returns its pid.
public func spawnGroupLeader(_ argv: [String]) throws -> pid_t {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(0x80))   // POSIX_SPAWN_SETSID (glibc ≥ 2.26)
    let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { cArgs.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], nil, &attributes, cArgs, environ)
    guard rc == 0 else { throw TestFailure("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
    return pid
}

/// Kills and reaps a child started with ``spawnGroupLeader(_:)``.
public func killAndReap(_ pid: pid_t) {
    kill(pid, SIGKILL)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
}

/// What a program spawned by ``QueueSandbox/spawnMeasured(_:_:stdin:environment:timeout:)`` reads.
public enum SpawnInput: Sendable {
    /// A file (or a directory, to test an unreadable stdin).
    case path(String)
    /// No descriptor 0 at all.
    case closed
}

/// The error for a program that could not be started, naming the package that
/// provides it when it is not installed (see the README's Set-up).
public func missingProgram(_ path: String, _ error: Int32) -> TestFailure {
    let name = (path as NSString).lastPathComponent
    let packages = ["tmux": "tmux", "mount": "mount", "umount": "mount", "setpriv": "util-linux", "script": "bsdutils",
                    "dd": "coreutils", "zsh": "zsh", "fish": "fish"]
    guard error == ENOENT else { return TestFailure("cannot run \(path): \(String(cString: strerror(error)))") }
    let package = packages[name].map { " (Debian/Ubuntu: apt-get install -y \($0))" } ?? ""
    return TestFailure("this test needs the program '\(name)', which is not installed\(package); see the README's Set-up")
}

extension QueueSandbox {
    /// Runs a program with `posix_spawn`, its stdin as given, and reaps it with
    /// `wait4`: returns its result and its own peak resident memory in KiB. It is
    /// killed (and the test fails) after `timeout` seconds.
    public static func spawnMeasured(_ path: String, _ arguments: [String], stdin: SpawnInput,
                                     environment: [String: String] = [:], timeout: Double = 60) throws -> (CLIResult, peakKiB: Int) {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("qc-measured-\(UUID().uuidString)").path
        let err = out + ".err"
        defer { unlink(out); unlink(err) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        switch stdin {
        case let .path(input): posix_spawn_file_actions_addopen(&actions, 0, input, O_RDONLY, 0)
        case .closed: posix_spawn_file_actions_addclose(&actions, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        for (k, v) in environment { env[k] = v }
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard rc == 0 else { throw missingProgram(path, rc) }
        var status: Int32 = 0
        var usage = rusage()
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while true {
            let reaped = wait4(pid, &status, WNOHANG, &usage)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { throw TestFailure("wait4: \(String(cString: strerror(errno)))") }
            if !timedOut && Date() > deadline {
                kill(pid, SIGKILL)
                timedOut = true
            }
            usleep(5_000)
        }
        if timedOut { throw TestFailure("\(path) \(arguments.joined(separator: " ")) did not finish within \(timeout) s") }
        let code = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        let result = CLIResult(status: code,
                               stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                               stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
        return (result, Int(usage.ru_maxrss))
    }
}
