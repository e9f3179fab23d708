import CQueueSys
import Foundation
import QueueCore
import QueueRunner

/// The console's loop: read keys, act, fetch when the data changed, paint.
public struct MonitorApp {
    public var source: MonitorDataSource
    public var refreshSeconds: Double
    public var useColor: Bool
    /// A line shown in the footer at start (e.g. what `demo` set up).
    public var greeting: String?
    /// `--readonly`, from the data source: no key changes anything.
    public var readonly: Bool { source.readonly }

    /// The shortest refresh interval.
    public static let minimumRefreshSeconds = 0.1

    public init(source: MonitorDataSource, refreshSeconds: Double, useColor: Bool, greeting: String? = nil) {
        self.source = source
        self.refreshSeconds = max(Self.minimumRefreshSeconds, refreshSeconds)
        self.useColor = useColor
        self.greeting = greeting
    }

    /// Runs until q, Ctrl-C, SIGTERM or SIGHUP; the terminal is restored on every
    /// path. Throws only when the terminal cannot be used (before anything is drawn).
    public func run() throws {
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
        var fetcher: MonitorFetcher?
        defer {
            // The terminal first; then an action in progress (a worker starting) is
            // let finish before we return.
            painter.stop()
            fetcher?.stop(waitingAtMost: Self.stopWaitSeconds)
        }
        try painter.start(useColor: useColor)

        var (width, height) = painter.size
        var state = MonitorState(width: width, height: height, readonly: readonly)
        state.flash = greeting
        var snapshot = MonitorSnapshot(databasePath: source.reader.displayAddress)
        let data = MonitorFetcher(source: source, refreshSeconds: refreshSeconds, query: state.query)
        fetcher = data
        data.start()
        data.waitForUpdate(seconds: Self.firstFrameWaitSeconds)
        var sent = state.query
        var sentPaused = false
        var lastPaint = -Double.infinity
        var flashSince = Monotonic.now()
        var dirty = true
        let utcOffset = TimeZone.current.secondsFromGMT()

        while !state.quit && qc_stop_signal_count() == 0 {
            if let update = data.takeUpdate() {
                snapshot = update.snapshot
                let answersCurrent = snapshot.requested == state.query
                state.adopt(snapshot)
                if answersCurrent { sent = state.query }   // the fetcher continues from these cursors
                if let flash = update.flashes.last {
                    state.flash = flash
                    flashSince = Monotonic.now()
                }
                dirty = true
            }
            let now = Monotonic.now()
            // Ages and the clock move on: repaint at least once a second.
            if dirty || now - lastPaint >= 1 {
                painter.paint(MonitorViewModel(snapshot: snapshot, state: state, now: .now(), utcOffsetSeconds: utcOffset).render())
                lastPaint = now
                dirty = false
            }
            if let key = painter.readKey(milliseconds: Self.keyWaitMilliseconds) {
                if key == .resize {
                    (width, height) = painter.size
                    state.width = width
                    state.height = height
                }
                let flash = state.flash
                data.perform(state.handle(key, snapshot: snapshot))
                if state.flash != flash { flashSince = Monotonic.now() }
                dirty = true
            }
            if state.query != sent || state.paused != sentPaused {
                data.request(state.query, paused: state.paused)
                sent = state.query
                sentPaused = state.paused
            }
            if state.flash != nil && Monotonic.now() - flashSince > Self.flashSeconds {
                state.flash = nil
                dirty = true
            }
        }
    }

    /// How long a key is waited for before the loop looks for new data.
    static let keyWaitMilliseconds: Int32 = 40
    /// How long the first frame waits for data before it shows "loading…".
    static let firstFrameWaitSeconds = 0.5
    /// How long a flash message stays.
    static let flashSeconds = 4.0
    /// How long quitting waits for an action in progress.
    static let stopWaitSeconds = 20.0
}
