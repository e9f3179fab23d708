import CQueueSys
import Foundation
import QueueCore
import Synchronization

/// The processes of one running job, and the one way to stop them all: SIGTERM to
/// every one, `kill-grace` seconds for them to exit, then SIGKILL to whatever is
/// left (as systemd's `KillMode=control-group` does). Timeouts, cancellation and the
/// normal end of a job all go through it (see ``stop(grace:pump:)``).
///
/// Which processes are the job's:
/// - its process group, led by the job's shell (started in its own session);
/// - in a process that called ``adoptOrphans()`` (every worker does), every other
///   descendant of that process. A worker runs one job at a time, and a descendant
///   that left the job's group (`setsid`, `setpgid(0,0)`) and lost its parent is
///   re-parented to the worker instead of PID 1. So whatever runs below a worker
///   while a job runs is that job's: what it started, and what the worker adopted
///   meanwhile (even an earlier job's leftover that could not be stopped then).
///
/// The leader (the shell) must stay unreaped while the tree is signalled: its
/// zombie keeps the group's id from being handed to an unrelated process group.
public struct JobProcessTree {
    public let leader: pid_t

    public init(leader: pid_t) { self.leader = leader }

    /// How far a stop has gone.
    public enum Phase: Equatable, Sendable {
        /// Nothing sent yet.
        case running
        /// SIGTERM sent to the whole tree at this monotonic time; SIGKILL follows
        /// after the grace.
        case terminating(since: Double)
        /// SIGKILL sent to the whole tree.
        case killing
    }

    /// The longest a stop waits for SIGKILLed processes to be gone (a process in
    /// uninterruptible sleep dies only when its I/O ends). What is still there is
    /// left to the next job's end.
    static let killWaitSeconds = 5.0

    // MARK: Adoption

    private static let subreaper = Atomic<Bool>(false)

    /// Makes this process a child subreaper (`PR_SET_CHILD_SUBREAPER`): orphaned
    /// descendants are re-parented to it, so it can find, stop and reap them.
    /// Returns whether it is one.
    @discardableResult
    public static func adoptOrphans() -> Bool {
        guard qc_become_child_subreaper() == 0 else { return false }
        subreaper.store(true, ordering: .relaxed)
        return true
    }

    /// Whether this process adopts orphaned descendants (see ``adoptOrphans()``).
    public static var adoptsOrphans: Bool { subreaper.load(ordering: .relaxed) }

    // MARK: Stopping

    /// Stops the whole tree from any phase and returns once nothing but the
    /// (unreaped) leader is left or SIGKILL did not end the rest within
    /// ``killWaitSeconds``. `pump` is called with the milliseconds to wait at most
    /// while processes are given time to exit (the runner reads their output meanwhile).
    public func stop(grace: Double, from phase: Phase = .running, pump: (Int32) -> Void) {
        var phase = phase
        if phase == .running { phase = terminate() }
        finish(from: phase, grace: grace, pump: pump)
    }

    /// SIGTERM to the group and every descendant.
    public func terminate() -> Phase {
        signalAll(SIGTERM)
        return .terminating(since: Monotonic.now())
    }

    /// SIGKILL to the group and every descendant.
    public func kill() -> Phase {
        signalAll(SIGKILL)
        return .killing
    }

    /// SIGKILL once the grace after SIGTERM has passed, whether the leader still
    /// lives or not.
    public func advance(_ phase: Phase, grace: Double, now: Double = Monotonic.now()) -> Phase {
        if case let .terminating(since) = phase, now >= since + grace { return kill() }
        return phase
    }

    /// Seconds until ``advance(_:grace:now:)`` has something to do (nil: nothing due).
    public func secondsUntilDue(_ phase: Phase, grace: Double, now: Double = Monotonic.now()) -> Double? {
        if case let .terminating(since) = phase { return max(0, since + grace - now) }
        return nil
    }

    /// Ends what is left once the leader has exited: in the common case (nothing
    /// left) one read of this process's children list. Otherwise SIGTERM (unless
    /// already sent), the rest of the grace, SIGKILL.
    public func finish(from phase: Phase, grace: Double, pump: (Int32) -> Void) {
        var phase = phase
        if phase == .running {
            guard Self.adoptsOrphans else {
                // Without adoption, leftovers cannot be told apart cheaply: the
                // group gets SIGTERM (see the README's "A job's processes").
                killpg(leader, SIGTERM)
                return
            }
            guard Self.ownChildren().contains(where: { $0 != leader }) else { return }
            phase = terminate()
        }
        if case let .terminating(since) = phase {
            if waitUntilGone(until: since + grace, killing: false, pump: pump) { return }
            phase = kill()
        }
        _ = waitUntilGone(until: Monotonic.now() + Self.killWaitSeconds, killing: true, pump: pump)
    }

    /// Reaps children this process adopted that have exited (never the leader,
    /// whose status the runner collects). Cheap: one read when there are none.
    public func reapAdopted() {
        guard Self.adoptsOrphans else { return }
        for pid in Self.ownChildren() where pid != leader {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
    }

    /// Waits until no process of the tree but the leader is alive, reaping what
    /// this process adopted; with `killing`, sends SIGKILL to each newcomer (a child
    /// re-parented when its parent died). False if some are left at `until`.
    private func waitUntilGone(until: Double, killing: Bool, pump: (Int32) -> Void) -> Bool {
        while true {
            reapAdopted()
            let left = members()
            if left.isEmpty { return true }
            let now = Monotonic.now()
            if now >= until { return false }
            if killing { signal(left, SIGKILL) }
            pump(Int32(max(1, min(10, (until - now) * 1000))))
        }
    }

    private func signalAll(_ signal: Int32) {
        if leader > 1 { killpg(leader, signal) }
        self.signal(members(), signal)
    }

    /// Signals each member: this process's own children directly (their pids cannot
    /// be reused before this process reaps them), deeper ones through a pidfd opened
    /// first and checked against the parent they were found under, so a pid reused
    /// meanwhile is never signalled.
    private func signal(_ members: [Member], _ signal: Int32) {
        let me = Int(getpid())
        for member in members {
            if member.parent == me {
                Glibc.kill(pid_t(member.pid), signal)
                continue
            }
            let fd = qc_pidfd_open(pid_t(member.pid))
            guard fd >= 0 else { continue }
            defer { close(fd) }
            guard let status = ProcessIdentity.status(of: member.pid),
                  status.parentPID == member.parent || (leader > 1 && status.processGroup == Int(leader)) else { continue }
            _ = qc_pidfd_send_signal(fd, signal)
        }
    }

    /// A live process of the tree and the process it was found under.
    struct Member: Equatable {
        var pid: Int
        var parent: Int
    }

    /// The tree's live processes other than the leader: what descends from this
    /// process (if it adopts orphans) or from the leader and its group (if not).
    func members() -> [Member] {
        if Self.adoptsOrphans {
            let me = Int(getpid())
            return Self.liveDescendants(from: Self.ownChildren().map { Member(pid: Int($0), parent: me) }, except: Int(leader))
        }
        return Self.liveDescendants(from: [Member(pid: Int(leader), parent: 0)] + Self.groupMembers(Int(leader)), except: Int(leader))
    }

    /// `roots` and everything below them that is alive (not a zombie), but `except`.
    static func liveDescendants(from roots: [Member], except: Int) -> [Member] {
        var queue = roots
        var seen = Set(queue.map(\.pid))
        var live: [Member] = []
        var index = 0
        while index < queue.count {
            let member = queue[index]
            index += 1
            for child in children(of: member.pid) where !seen.contains(child) {
                seen.insert(child)
                queue.append(Member(pid: child, parent: member.pid))
            }
            guard member.pid != except, let status = ProcessIdentity.status(of: member.pid), !status.isZombie else { continue }
            live.append(member)
        }
        return live
    }

    /// For a process that supervises workers and adopts orphans: SIGKILLs every
    /// child it has besides `keep` (its workers), with everything below them, and
    /// reaps those that exited. When a worker dies, its job's shell dies with it
    /// (PR_SET_PDEATHSIG) and whatever the job left running is re-parented here: a
    /// dead worker's leftovers. Returns how many processes were signalled.
    @discardableResult
    public static func killAdopted(keeping keep: Set<pid_t>) -> Int {
        guard adoptsOrphans else { return 0 }
        let me = Int(getpid())
        let adopted = ownChildren().filter { !keep.contains($0) }
        guard !adopted.isEmpty else { return 0 }
        let live = liveDescendants(from: adopted.map { Member(pid: Int($0), parent: me) }, except: 0)
        let tree = JobProcessTree(leader: 0)
        tree.signal(live, SIGKILL)
        for pid in adopted {
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
        return live.count
    }

    // MARK: /proc

    /// `/proc/self/task/TID/children`, kept open per thread and read again with
    /// `pread` (the kernel renders it anew at offset 0).
    private static let childrenFiles = Mutex<[pid_t: Int32]>([:])

    /// This process's children: the main thread's (orphans are re-parented to it)
    /// and the calling thread's (it spawned the job).
    static func ownChildren() -> [pid_t] {
        let main = getpid(), current = qc_gettid()
        var result = children(ofThread: main)
        if current != main { result += children(ofThread: current) }
        return result
    }

    private static func children(ofThread tid: pid_t) -> [pid_t] {
        for attempt in 0..<2 {
            let fd = childrenFiles.withLock { files -> Int32 in
                if let fd = files[tid] { return fd }
                let fd = open("/proc/self/task/\(tid)/children", O_RDONLY | O_CLOEXEC)
                if fd >= 0 { files[tid] = fd }
                return fd
            }
            guard fd >= 0 else { return [] }
            if let pids = readPIDs(fd: fd) { return pids.map { pid_t($0) } }
            // A thread that exited (its id may be another thread's now): reopen once.
            childrenFiles.withLock { files in
                if files[tid] == fd { files[tid] = nil; close(fd) }
            }
            if attempt == 1 { break }
        }
        return []
    }

    /// Children of every thread of `pid`.
    static func children(of pid: Int) -> [Int] {
        guard let tasks = opendir("/proc/\(pid)/task") else { return [] }
        defer { closedir(tasks) }
        var result: [Int] = []
        while let entry = readdir(tasks) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let tid = Int(name) else { continue }
            let fd = open("/proc/\(pid)/task/\(tid)/children", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            result += readPIDs(fd: fd) ?? []
            close(fd)
        }
        return result
    }

    /// Processes of process group `group` other than its leader (a walk of all
    /// of `/proc`: only for a process that does not adopt orphans).
    static func groupMembers(_ group: Int) -> [Member] {
        guard let proc = opendir("/proc") else { return [] }
        defer { closedir(proc) }
        var result: [Member] = []
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int(name), pid != group, let status = ProcessIdentity.status(of: pid),
                  status.processGroup == group else { continue }
            result.append(Member(pid: pid, parent: status.parentPID))
        }
        return result
    }

    /// Space-separated pids from a `children` file; nil if it cannot be read.
    private static func readPIDs(fd: Int32) -> [Int]? {
        var capacity = 512
        while true {
            var buffer = [UInt8](repeating: 0, count: capacity)
            let n = pread(fd, &buffer, capacity, 0)
            guard n >= 0 else { return nil }
            if n == capacity { capacity *= 4; continue }
            var pids: [Int] = []
            var value = 0, inNumber = false
            for byte in buffer[0..<n] {
                if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                    value = value * 10 + Int(byte - UInt8(ascii: "0"))
                    inNumber = true
                } else if inNumber {
                    pids.append(value)
                    value = 0
                    inNumber = false
                }
            }
            if inNumber { pids.append(value) }
            return pids
        }
    }
}
