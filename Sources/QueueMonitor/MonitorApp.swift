import CQueueSys
import Foundation
import QueueCore
import QueueRunner

/// The console's loop: read keys, act, fetch when the data changed, paint.
public struct MonitorApp {
    public var source: MonitorDataSource
    public var refreshSeconds: Double
    public var readonly: Bool
    public var useColor: Bool
    /// A line shown in the footer at start (e.g. what `demo` set up).
    public var greeting: String?

    public init(source: MonitorDataSource, refreshSeconds: Double, readonly: Bool, useColor: Bool, greeting: String? = nil) {
        self.source = source
        self.refreshSeconds = max(0.1, refreshSeconds)
        self.readonly = readonly
        self.useColor = useColor
        self.greeting = greeting
    }

    /// Runs until q, Ctrl-C, SIGTERM or SIGHUP; the terminal is restored on every path.
    public func run() {
        var wake: [Int32] = [-1, -1]
        if qc_pipe_cloexec(&wake) == 0 {
            _ = fcntl(wake[1], F_SETFL, O_NONBLOCK)
            qc_install_stop_handler(wake[1])
        }
        // Whatever the parent blocked, the console needs resizes and stop signals.
        var needed = sigset_t()
        sigemptyset(&needed)
        for signal in [SIGWINCH, SIGINT, SIGTERM, SIGHUP] { sigaddset(&needed, signal) }
        pthread_sigmask(SIG_UNBLOCK, &needed, nil)
        let painter = TerminalPainter()
        painter.start(useColor: useColor)
        defer { painter.stop() }

        var (width, height) = painter.size
        var state = MonitorState(width: width, height: height, readonly: readonly)
        state.flash = greeting
        var snapshot = fetch(&state)
        var lastFetch = Monotonic.now()
        var lastPaint = 0.0
        var flashSince = Monotonic.now()
        var lastVersion = (try? source.store.dataVersion()) ?? 0
        var needsFetch = false
        var dirty = true

        while !state.quit && qc_stop_signal_count() == 0 {
            let now = Monotonic.now()
            if dirty || now - lastPaint >= 1 {
                painter.paint(MonitorViewModel(snapshot: snapshot, state: state, now: .now()).render())
                lastPaint = now
                dirty = false
            }
            if let key = painter.readKey(milliseconds: Int32(min(100, refreshSeconds * 1000))) {
                if key == .resize {
                    (width, height) = painter.size
                    state.width = width
                    state.height = height
                    needsFetch = true
                }
                let before = state
                let hadFlash = state.flash
                for effect in state.handle(key, snapshot: snapshot) {
                    state.flash = source.perform(effect, snapshot: snapshot)
                    needsFetch = true
                }
                if state.flash != hadFlash { flashSince = Monotonic.now() }
                if Self.queryChanged(before, state) { needsFetch = true }
                dirty = true
            }
            let tick = Monotonic.now()
            if !state.paused && tick - lastFetch >= refreshSeconds {
                // Cheap checks first: another process committed, or the log grew.
                let version = (try? source.store.dataVersion()) ?? lastVersion
                let swept = (try? Recovery.sweep(store: source.store))?.releasedWorkers.isEmpty == false
                let logGrew = snapshot.log.map { source.logSize($0) != $0.fileSize } ?? false
                if version != lastVersion || swept || logGrew || snapshot.error != nil { needsFetch = true }
                lastVersion = version
                lastFetch = tick
                dirty = true   // ages and the clock move on
            }
            if needsFetch {
                snapshot = fetch(&state)
                needsFetch = false
                dirty = true
            }
            if state.flash != nil && Monotonic.now() - flashSince > 4 {
                state.flash = nil
                dirty = true
            }
        }
    }

    /// Fetches for the current state, and once more if keeping the cursor on its
    /// job moved the page.
    private func fetch(_ state: inout MonitorState) -> MonitorSnapshot {
        var snapshot = source.fetch(for: state)
        let before = state.cursors
        state.reconcile(with: snapshot)
        if state.cursors.mapValues(\.offset) != before.mapValues(\.offset) {
            snapshot = source.fetch(for: state)
            state.reconcile(with: snapshot)
        }
        return snapshot
    }

    /// Whether the rows to fetch changed (page, filter, tab, selection, overlay).
    static func queryChanged(_ a: MonitorState, _ b: MonitorState) -> Bool {
        a.focus != b.focus || a.stateTab != b.stateTab || a.filters != b.filters || a.overlay != b.overlay
            || a.cursors.mapValues(\.offset) != b.cursors.mapValues(\.offset)
            || a.cursors.mapValues(\.index) != b.cursors.mapValues(\.index)
            || a.width != b.width || a.height != b.height
    }
}
