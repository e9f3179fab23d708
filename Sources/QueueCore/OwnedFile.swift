import Foundation

/// Opens queuectl's own files beside a database, where another local user may have
/// planted something: never through a symbolic link, and for writing only a regular
/// file of this user with no second name (a hard link would let a write land in a
/// file elsewhere). Every file queuectl writes beside the database goes through here:
/// run logs, `workers.log`, the running-job files, the doorbell, the `-wal`/`-shm`
/// files whose mode it repairs.
///
/// Checks are made on the open descriptor (`fstat`), not on the path, so nothing can
/// be swapped in between. In a private folder (see ``PrivateFolder``) the file is
/// opened relative to the folder's checked descriptor (`openat`), so the folder
/// cannot be swapped either.
public enum OwnedFile {
    public enum Access: Sendable {
        /// Read only; the file may belong to anyone (reading another user's queue is
        /// allowed where the file modes allow it).
        case read
        /// Read only, and the file must be this user's: for files whose content
        /// queuectl acts on (a running-job file names processes to kill).
        case readTrusted
        /// Append, creating the file (0600) if missing: `workers.log`.
        case append
        /// Write, creating the file (0600) if missing, never truncating: the doorbell.
        case write
        /// A new, empty file (0600): whatever had the name is unlinked first and the
        /// file is created with `O_EXCL`: run logs and running-job files.
        case replace
    }

    /// Opens `path` (`folder`: the folder's descriptor and `path` a name in it) for
    /// `access`. Returns the descriptor (close-on-exec) or throws one line naming
    /// `path` (`displayPath` when given); a missing file (when not created) is a
    /// `notFound` error.
    public static func open(_ path: String, _ access: Access, in folder: Int32 = AT_FDCWD,
                            displayPath: String? = nil) throws -> Int32 {
        let shown = displayPath ?? path
        var flags = O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK
        switch access {
        case .read, .readTrusted: flags |= O_RDONLY
        case .append: flags |= O_WRONLY | O_CREAT | O_APPEND
        case .write: flags |= O_WRONLY | O_CREAT
        case .replace:
            flags |= O_RDWR | O_CREAT | O_EXCL
            if unlinkat(folder, path, 0) != 0 && errno != ENOENT {
                throw QueueError.runtime("cannot replace \(shown): \(Self.reason(errno))")
            }
        }
        let fd = openat(folder, path, flags, 0o600)
        guard fd >= 0 else {
            let code = errno
            if code == ELOOP { throw QueueError.runtime("\(shown) is a symbolic link; queuectl does not follow links beside its database") }
            if code == ENOENT { throw QueueError.notFound("\(shown) does not exist") }
            throw QueueError.runtime("cannot open \(shown): \(Self.reason(code))")
        }
        do {
            try check(fd, access, shown: shown)
        } catch {
            close(fd)
            throw error
        }
        // O_NONBLOCK kept a planted FIFO from blocking the open; on the regular
        // file that passed the checks it has no effect.
        return fd
    }

    private static func check(_ fd: Int32, _ access: Access, shown: String) throws {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw QueueError.runtime("cannot inspect \(shown): \(Self.reason(errno))") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw QueueError.runtime("\(shown) is not a regular file") }
        if access == .read { return }
        guard info.st_uid == geteuid() else {
            throw QueueError.runtime("\(shown) belongs to uid \(info.st_uid), not to you (uid \(geteuid())); queuectl will not use it")
        }
        guard info.st_nlink == 1 else {
            throw QueueError.runtime("\(shown) has \(info.st_nlink) names (hard links); queuectl will not write to it")
        }
    }

    /// Changes the mode of this user's regular file at `path` (one name, not a link)
    /// to what `newMode` returns for its status (nil: leave it). Returns whether it did.
    ///
    /// The file is opened with `O_PATH` only: a planted link is not followed, the
    /// checks and the change apply to the very file opened (through its
    /// `/proc/self/fd` entry, as glibc's `fchmodat` does), and closing the descriptor
    /// drops none of the POSIX locks SQLite holds on the file in this process
    /// (closing any other descriptor of it would).
    @discardableResult
    public static func changeMode(_ path: String, to newMode: (stat) -> mode_t?) -> Bool {
        let fd = Glibc.open(path, openPath | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == geteuid(), info.st_nlink == 1,
              let mode = newMode(info) else { return false }
        return chmod("/proc/self/fd/\(fd)", mode) == 0
    }

    /// `O_PATH` (Linux), which Swift's Glibc module does not export.
    private static let openPath: Int32 = 0o10000000

    /// `strerror` in lower case, for the middle of a sentence.
    static func reason(_ code: Int32) -> String { String(cString: strerror(code)).lowercased() }
}
