import Synchronization

/// One switch for every store of this process: waits for a busy or unreachable
/// database give up as soon as `predicate` returns true. A process that is
/// starting up passes "a stop signal came", so a stop while another process holds
/// the database (or the server is down) ends it at once.
public enum StoreWaits {
    private static let giveUp = Mutex<(@Sendable () -> Bool)?>(nil)

    public static func giveUp(when predicate: (@Sendable () -> Bool)?) {
        giveUp.withLock { $0 = predicate }
    }

    /// Whether waits must give up now.
    public static var shouldGiveUp: Bool {
        guard let predicate = giveUp.withLock({ $0 }) else { return false }
        return predicate()
    }
}
