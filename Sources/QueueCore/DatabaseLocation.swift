import Foundation

/// Where the queue's files live: the database and, beside it, the run logs
/// (`<db>-logs/`) and the doorbell file workers watch (`<db>-bell`).
public struct DatabaseLocation: Sendable, Equatable {
    public var databasePath: String

    public init(path: String) {
        self.databasePath = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// `--db`, else `$QUEUECTL_DB`, else `$XDG_DATA_HOME/queuectl/queue.db`,
    /// else `~/.local/share/queuectl/queue.db`. An empty `--db` or `QUEUECTL_DB` is
    /// an error (a script's unset variable), not the default queue.
    public static func resolve(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> DatabaseLocation {
        if let explicit {
            guard !explicit.isEmpty else { throw QueueError.invalidInput("--db needs a path; it is empty") }
            return DatabaseLocation(path: explicit)
        }
        if let env = environment["QUEUECTL_DB"] {
            guard !env.isEmpty else { throw QueueError.invalidInput("QUEUECTL_DB is set but empty; give it a path or unset it") }
            return DatabaseLocation(path: env)
        }
        let dataHome: String
        if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") {
            dataHome = xdg
        } else {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            dataHome = home + "/.local/share"
        }
        return DatabaseLocation(path: dataHome + "/queuectl/queue.db")
    }

    public var directory: String { (databasePath as NSString).deletingLastPathComponent }
    public var logsDirectory: String { databasePath + "-logs" }
    public var bellPath: String { databasePath + "-bell" }
    /// Where background workers write their own log lines.
    public var workerLogPath: String { logsDirectory + "/workers.log" }

    /// Captured output of one run (by the run's id in the history, since attempt
    /// numbers restart after `dlq retry`).
    public func runLogPath(jobID: String, runID: Int64) -> String {
        "\(logsDirectory)/\(jobID).\(runID).log"
    }

    /// The folder of the running-job files (see RunningJobFile).
    public var workersFolder: String { logsDirectory + "/workers" }

    /// Creates the database folder (0700, with its parents) if missing: for the
    /// default location, on first use.
    public func prepareDatabaseFolder() throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) {
            guard isDir.boolValue else { throw QueueError.runtime("\(directory) exists and is not a directory") }
            return
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw QueueError.runtime("cannot create \(directory): \(OwnedFile.reason(errno))")
        }
    }

    /// Creates `<db>-logs/` and `<db>-logs/workers/` (0700) if missing and checks
    /// that both are private folders of this user (see PrivateFolder): done by
    /// whoever is about to write there (worker start, a worker).
    public func prepareLogsFolder() throws {
        let logs = try PrivateFolder.open(logsDirectory, create: true)
        defer { close(logs) }
        close(try PrivateFolder.open("workers", in: logs, create: true, displayPath: workersFolder))
    }

    /// Refuses a database file that belongs to another user, for workers: they run
    /// the commands stored in it as this user, so whoever owns the file (and may
    /// have created it, in a shared folder, before this user did) could run commands
    /// as this user.
    public func checkOwnedDatabase() throws {
        var info = stat()
        guard stat(databasePath, &info) == 0, info.st_uid != geteuid() else { return }
        throw QueueError.runtime("permission denied: database \(databasePath) belongs to uid \(info.st_uid), not to you (uid \(geteuid())); workers run the commands stored in it as you, so only its owner may start them")
    }

    /// The first of SQLite's own files beside the database (`-wal`, `-shm`,
    /// `-journal`) that is a symbolic link, which SQLite refuses to open: named in
    /// the error instead of "too many levels of symbolic links".
    public func linkBesideDatabase() -> String? {
        for suffix in ["-wal", "-shm", "-journal"] {
            var info = stat()
            if lstat(databasePath + suffix, &info) == 0, info.st_mode & S_IFMT == S_IFLNK { return databasePath + suffix }
        }
        return nil
    }

    /// What is at the database path, following a symbolic link (a database may be
    /// reached through one).
    public enum FileState: Equatable, Sendable {
        case missing
        case databaseFile
        /// A directory, device, FIFO or socket: never a database.
        case notAFile(kind: String)
    }

    public func fileState() throws -> FileState {
        var info = stat()
        guard stat(databasePath, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return .missing }
            throw QueueError.runtime("cannot open database \(databasePath): \(OwnedFile.reason(errno))")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .databaseFile
        case S_IFDIR: return .notAFile(kind: "a directory")
        case S_IFCHR, S_IFBLK: return .notAFile(kind: "a device")
        case S_IFIFO: return .notAFile(kind: "a FIFO")
        case S_IFSOCK: return .notAFile(kind: "a socket")
        default: return .notAFile(kind: "something other than a file")
        }
    }

    /// Refuses a path that is not a database file; with `mustExist`, a missing one
    /// too: commands that only read or change an existing queue never create one
    /// (`status --db typo.db` must not start an empty queue and report 0 jobs).
    public func checkDatabaseFile(mustExist: Bool) throws {
        switch try fileState() {
        case .databaseFile: return
        case let .notAFile(kind):
            throw QueueError.invalidInput("\(databasePath) is \(kind), not a database file")
        case .missing:
            if mustExist {
                throw QueueError.notFound("no database at \(databasePath) (enqueue a job or run `queuectl worker start` to create one)")
            }
        }
    }
}
