import Foundation

/// Finds the password for an address exactly as libpq does, so a queue reaches the
/// server with the credentials `psql` would use, and no password ever travels in
/// an address or on a command line.
///
/// 1. `PGPASSWORD`, when set and not empty;
/// 2. else the password file: `PGPASSFILE`, else `~/.pgpass`. It is read only if it
///    is a regular file that neither group nor others may access (mode 0600 or
///    stricter); otherwise it is skipped (libpq skips it too). Each line is
///    `hostname:port:database:username:password`; `#` starts a comment line; a
///    field of `*` matches anything; `\:` and `\\` stand for `:` and `\`. The first
///    matching line wins. A connection through the default socket folder
///    (`/var/run/postgresql`) matches the host name `localhost`, as in libpq.
///
/// nil: no password (the server may not ask for one).
public enum PostgresPassword {
    /// libpq's default socket folder on Debian, which `.pgpass` calls `localhost`.
    static let defaultSocketFolder = "/var/run/postgresql"

    public static func lookup(for address: PostgresAddress,
                              environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let password = environment["PGPASSWORD"], !password.isEmpty { return password }
        guard let file = passwordFile(environment: environment), let text = readPrivateFile(file) else { return nil }
        var host = address.host
        if let folder = address.socketFolder {
            host = folder == defaultSocketFolder ? "localhost" : folder
        }
        return match(in: text, host: host, port: String(address.port), database: address.database, user: address.user)
    }

    /// `PGPASSFILE`, else `~/.pgpass` (home from `HOME`, else the password database).
    static func passwordFile(environment: [String: String]) -> String? {
        if let file = environment["PGPASSFILE"], !file.isEmpty { return file }
        var home = environment["HOME"] ?? ""
        if home.isEmpty, let entry = getpwuid(geteuid()), let dir = entry.pointee.pw_dir { home = String(cString: dir) }
        return home.isEmpty ? nil : home + "/.pgpass"
    }

    /// The file's text if it is a regular file without group or other permission bits.
    static func readPrivateFile(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_mode & (S_IRWXG | S_IRWXO) == 0 else {
            return nil
        }
        return try? String(contentsOfFile: path, encoding: .utf8)
    }

    /// The password of the first line of a password file matching all four fields.
    static func match(in text: String, host: String, port: String, database: String, user: String) -> String? {
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            let line = Substring(rawLine)
            if line.hasPrefix("#") { continue }
            var rest = line[...]
            guard matchField(&rest, host), matchField(&rest, port), matchField(&rest, database), matchField(&rest, user) else {
                continue
            }
            // The password: up to an unescaped ':' or the end, escapes removed.
            var password = ""
            var index = rest.startIndex
            while index < rest.endIndex, rest[index] != ":" {
                var character = rest[index]
                if character == "\\", rest.index(after: index) < rest.endIndex {
                    index = rest.index(after: index)
                    character = rest[index]
                }
                password.append(character)
                index = rest.index(after: index)
            }
            // An empty password counts as none (libpq too).
            return password.isEmpty ? nil : password
        }
        return nil
    }

    /// Whether the field at the start of `rest` matches `value` (`*` matches
    /// anything); on a match, moves `rest` past the field and its ':'.
    private static func matchField(_ rest: inout Substring, _ value: String) -> Bool {
        if rest.hasPrefix("*:") {
            rest = rest.dropFirst(2)
            return true
        }
        var index = rest.startIndex
        var expected = value[...]
        while index < rest.endIndex, rest[index] != ":" {
            var character = rest[index]
            if character == "\\", rest.index(after: index) < rest.endIndex {
                index = rest.index(after: index)
                character = rest[index]
            }
            guard let first = expected.first, first == character else { return false }
            expected = expected.dropFirst()
            index = rest.index(after: index)
        }
        guard expected.isEmpty, index < rest.endIndex else { return false }
        rest = rest[rest.index(after: index)...]
        return true
    }
}
