import QueueCore
import Foundation

/// An exclusive `flock` on the database's folder, held while one process creates
/// the database or brings its schema up to date.
///
/// Several processes often open a new database at once (`worker start --count 4`,
/// parallel enqueues in a script's first run, workers restarting after an upgrade).
/// SQLite serializes their writes, but GRDB's migrator reads which migrations are
/// applied before it takes the write lock, so two processes would both run the
/// first migration and the loser would fail ("table jobs already exists"); the
/// switch to WAL mode of a new file can fail the same way. Holding this lock around
/// set-up makes the others wait and then find the work done.
///
/// `flock` locks are separate from the POSIX locks SQLite takes, are released if
/// the process dies, and lock the folder (not a file in it), so no file is added.
/// Taking it is best effort: a folder that cannot be opened, or a lock held for
/// longer than `timeout`, leaves set-up to SQLite's own locking as before.
struct SetupLock {
    private var fd: Int32 = -1

    init(directory: String, timeout: Double) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        let deadline = Monotonic.now() + timeout
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, Monotonic.now() < deadline else {
                close(fd)
                return
            }
            usleep(5_000)
        }
        self.fd = fd
    }

    mutating func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }
}
