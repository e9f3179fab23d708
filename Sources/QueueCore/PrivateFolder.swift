import Foundation

/// A folder queuectl keeps its own files in beside the database (`<db>-logs/` and
/// `<db>-logs/workers/`), which may sit in a folder other users can write to
/// (`/tmp`, `/srv/shared`).
///
/// Before anything is written in it, such a folder must be a real folder (not a
/// symbolic link) of this user that nobody else can write to: then no other user
/// (root aside) can have planted a file or link in it, and the job output written
/// there stays private. A folder of ours that others could only read (e.g. made
/// under a loose umask) is made private (0755 becomes 0700); one others could write to, or that belongs to
/// someone else, is refused, since anything in it may have been planted.
public enum PrivateFolder {
    /// Opens the folder at `path` (relative to the folder `parent`, or a path),
    /// creating it (0700) first when `create`, and checks it as described above.
    /// Returns its descriptor (close-on-exec); the caller closes it.
    public static func open(_ path: String, in parent: Int32 = AT_FDCWD, create: Bool, displayPath: String? = nil) throws -> Int32 {
        let shown = displayPath ?? path
        if create && mkdirat(parent, path, 0o700) != 0 && errno != EEXIST {
            throw QueueError.runtime("cannot create \(shown): \(OwnedFile.reason(errno))")
        }
        let fd = openat(parent, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            // O_NOFOLLOW with O_DIRECTORY reports a link as "not a directory".
            var info = stat()
            let isLink = fstatat(parent, path, &info, AT_SYMLINK_NOFOLLOW) == 0 && info.st_mode & S_IFMT == S_IFLNK
            if isLink || code == ELOOP {
                throw QueueError.runtime("\(shown) is a symbolic link, not a folder; queuectl does not follow links beside its database")
            }
            switch code {
            case ENOTDIR: throw QueueError.runtime("\(shown) exists and is not a folder")
            case ENOENT: throw QueueError.notFound("\(shown) does not exist")
            default: throw QueueError.runtime("cannot open \(shown): \(OwnedFile.reason(code))")
            }
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            close(fd)
            throw QueueError.runtime("cannot inspect \(shown): \(OwnedFile.reason(errno))")
        }
        let mode = info.st_mode & 0o7777
        if info.st_uid != geteuid() {
            close(fd)
            throw QueueError.runtime("\(shown) belongs to uid \(info.st_uid), not to you (uid \(geteuid())); queuectl keeps job output there and needs it to be your own: remove it or use another --db")
        }
        if mode & 0o022 != 0 {
            close(fd)
            throw QueueError.runtime("\(shown) can be written by other users (mode \(String(mode, radix: 8))), so files in it may have been planted; check and remove it, or use another --db")
        }
        // Only others' read and search bits are taken away; the owner's stay as they are.
        if mode & 0o077 != 0 && fchmod(fd, mode & 0o700) != 0 {
            close(fd)
            throw QueueError.runtime("cannot make \(shown) private (mode \(String(mode, radix: 8))): \(OwnedFile.reason(errno))")
        }
        return fd
    }

    /// Opens the file at `path`, whose folder must pass ``open(_:in:create:displayPath:)``
    /// (without being created), with ``OwnedFile`` inside that checked folder.
    public static func openFile(_ path: String, _ access: OwnedFile.Access) throws -> Int32 {
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let folderFD = try open(folder.isEmpty ? "." : folder, create: false)
        defer { close(folderFD) }
        return try OwnedFile.open(name, access, in: folderFD, displayPath: path)
    }
}
