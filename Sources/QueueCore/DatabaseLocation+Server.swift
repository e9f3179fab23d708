import Foundation

extension DatabaseLocation {
    /// Where this host keeps the local files of a queue on a database server: the
    /// worker log, running-job files and the output of runs while they go (copied
    /// into the database as they are written). One private folder per address,
    /// under `$XDG_STATE_HOME/queuectl` (else `~/.local/state/queuectl`):
    /// `<folder>/queue-logs/workers.log` and so on, the same layout as beside a
    /// SQLite file, so the runner needs no second set of paths.
    public static func localFiles(forServer address: String,
                                  environment: [String: String] = ProcessInfo.processInfo.environment) -> DatabaseLocation {
        let stateHome: String
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") {
            stateHome = xdg
        } else {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            stateHome = home + "/.local/state"
        }
        return DatabaseLocation(path: "\(stateHome)/queuectl/\(folderName(for: address))/queue")
    }

    /// A readable, file-safe name for an address (`pg-HOST-PORT-DB-SCHEMA-HASH`):
    /// the hash keeps two addresses that read alike apart.
    static func folderName(for address: String) -> String {
        let readable = address.drop { $0 != "/" }.dropFirst(2)
            .map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" ? $0 : "-" }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325   // FNV-1a
        for byte in address.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return "pg-" + String(String(readable).prefix(80)) + "-" + String(hash & 0xffff_ffff, radix: 16)
    }
}
