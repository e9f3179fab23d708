import Foundation
import Testing
import QueueCore

/// The one way queuectl opens its files beside a database: never through a link,
/// only this user's regular files with one name, in folders only this user can write.
@Suite struct OwnedFileTests {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("owned-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    private func file(_ name: String, _ text: String = "original\n", mode: mode_t = 0o600) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode)
        return path
    }

    private func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return "\(error)" }
    }

    @Test func noAccessFollowsALink() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let target = try file("target")
        #expect(symlink(target, directory + "/link") == 0)
        for access in [OwnedFile.Access.read, .readTrusted, .append, .write] {
            #expect(message { close(try OwnedFile.open(directory + "/link", access)) }.contains("is a symbolic link"), "\(access)")
        }
        // A new file replaces the link; the target is untouched.
        let fd = try OwnedFile.open(directory + "/link", .replace)
        #expect(write(fd, "new", 3) == 3)
        close(fd)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "original\n")
        #expect(try String(contentsOfFile: directory + "/link", encoding: .utf8) == "new")
        // A dangling link creates nothing where it points.
        #expect(symlink(directory + "/nowhere", directory + "/dangling") == 0)
        #expect(message { close(try OwnedFile.open(directory + "/dangling", .write)) }.contains("is a symbolic link"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/nowhere"))
    }

    @Test func aFileWithASecondNameOrNotAFileIsNotWritten() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let target = try file("target")
        #expect(link(target, directory + "/hard") == 0)
        #expect(message { close(try OwnedFile.open(directory + "/hard", .append)) }.contains("has 2 names"))
        #expect(mkfifo(directory + "/fifo", 0o600) == 0)
        #expect(message { close(try OwnedFile.open(directory + "/fifo", .read)) }.contains("is not a regular file"))
        #expect(!message { close(try OwnedFile.open(directory + "/fifo", .write)) }.isEmpty, "never blocks, never opens")
        #expect(message { close(try OwnedFile.open(directory + "/missing", .read)) }.contains("does not exist"))
    }

    @Test func aModeIsNeverChangedThroughALink() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let secret = try file("secret", mode: 0o400)
        #expect(symlink(secret, directory + "/queue.db-wal") == 0)
        #expect(!OwnedFile.changeMode(directory + "/queue.db-wal") { _ in 0o644 })
        var info = stat()
        #expect(stat(secret, &info) == 0 && info.st_mode & 0o777 == 0o400)
        let own = try file("own-wal", mode: 0o400)
        #expect(OwnedFile.changeMode(own) { _ in 0o600 })
        #expect(stat(own, &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    @Test func aPrivateFolderIsOursRealAndClosedToOthers() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let folder = directory + "/q.db-logs"
        // Created 0700; one of ours that others may only read is made private.
        close(try PrivateFolder.open(folder, create: true))
        var info = stat()
        #expect(stat(folder, &info) == 0 && info.st_mode & 0o777 == 0o700)
        #expect(chmod(folder, 0o755) == 0)
        close(try PrivateFolder.open(folder, create: false))
        #expect(stat(folder, &info) == 0 && info.st_mode & 0o777 == 0o700)
        // Others may write in it: refused, left as it is.
        #expect(chmod(folder, 0o777) == 0)
        #expect(message { close(try PrivateFolder.open(folder, create: true)) }.contains("can be written by other users (mode 777)"))
        #expect(stat(folder, &info) == 0 && info.st_mode & 0o777 == 0o777)
        // A link to a folder, and a file, are not folders of ours.
        #expect(chmod(folder, 0o700) == 0 && symlink(folder, directory + "/linked") == 0)
        #expect(message { close(try PrivateFolder.open(directory + "/linked", create: true)) }.contains("is a symbolic link"))
        _ = try file("plain")
        #expect(message { close(try PrivateFolder.open(directory + "/plain", create: true)) }.contains("is not a folder"))
        if geteuid() == 0 {
            #expect(chown(folder, 65534, 65534) == 0)
            #expect(message { close(try PrivateFolder.open(folder, create: true)) }.contains("belongs to uid 65534"))
        }
    }
}
