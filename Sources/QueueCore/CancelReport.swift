/// What a cancel did.
public struct CancelReport: Sendable, Equatable {
    /// Jobs now `cancelled` (they were waiting).
    public var cancelled: [String] = []
    /// Running jobs whose workers were asked to stop them; they end `cancelled`
    /// unless their run succeeds first.
    public var stopping: [String] = []
    /// Jobs cancelled because they depended on one of these.
    public var dependents: [String] = []

    public init() {}

    public var count: Int { cancelled.count + stopping.count + dependents.count }
}
