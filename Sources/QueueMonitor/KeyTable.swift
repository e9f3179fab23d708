/// A key press, decoded from the terminal.
public enum Key: Hashable, Sendable {
    case char(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case tab, backTab, enter, escape, backspace
    case ctrlC
    case resize
}

/// The panes of the console.
public enum Pane: Int, CaseIterable, Sendable {
    case jobs, workers, dlq, log, queues

    public var title: String {
        switch self {
        case .jobs: return "Jobs"
        case .workers: return "Workers"
        case .dlq: return "DLQ"
        case .log: return "Log tail"
        case .queues: return "Queues"
        }
    }
}

/// What a key does.
public enum KeyAction: Equatable, Sendable {
    case quit, help, nextPane, previousPane, focus(Pane)
    case up, down, pageUp, pageDown, top, bottom
    case filter, escape, detail
    case previousStateTab, nextStateTab
    case retrySelected, toggleMark, retryMarked
    case cancelJobs, runNow, requeue
    case addWorker, removeWorker, stopAllWorkers
    case pause
    case toggleQueuePause, setQueueLimit
}

/// One entry of the key table: the keys, what they do, where.
public struct KeyBinding: Sendable {
    public var keys: [Key]
    /// How the keys are written in help and the footer.
    public var label: String
    public var summary: String
    /// The footer's shorter words for it.
    public var short: String
    public var action: KeyAction
    /// Panes where the binding applies (nil: everywhere).
    public var panes: Set<Pane>?
    /// Changes the queue or its workers (hidden with --readonly).
    public var mutates: Bool
    /// Shown in the footer of `footerPanes` (nil: every pane).
    public var inFooter: Bool
    public var footerPanes: Set<Pane>?
}

/// The single table that both handles input and generates the help screen and
/// the footer, so they cannot disagree.
public enum KeyTable {
    public static let bindings: [KeyBinding] = [
        b([.char("q")], "q", "quit (Ctrl-C always quits)", .quit, footer: "quit"),
        b([.char("?")], "?", "help: every key (Esc or ? closes)", .help, footer: "help"),
        b([.tab], "Tab", "next pane", .nextPane),
        b([.backTab], "S-Tab", "previous pane", .previousPane),
        b([.char("1")], "1", "Jobs pane", .focus(.jobs)),
        b([.char("2")], "2", "Workers pane", .focus(.workers)),
        b([.char("3")], "3", "DLQ pane", .focus(.dlq)),
        b([.char("4")], "4", "Log tail pane", .focus(.log)),
        b([.char("5")], "5", "Queues pane", .focus(.queues)),
        b([.char("j"), .down], "j/↓", "move down (log, overlay: scroll down)", .down),
        b([.char("k"), .up], "k/↑", "move up (log: scroll back, pauses following)", .up, footer: "scroll", footerPanes: [.log]),
        b([.pageDown], "PgDn", "page down", .pageDown),
        b([.pageUp], "PgUp", "page up", .pageUp),
        b([.char("g"), .home], "g", "first row (log: oldest line)", .top),
        b([.char("G"), .end], "G", "last row (log: follow the output again)", .bottom, footer: "follow", footerPanes: [.log]),
        b([.char("/")], "/", "filter the list: id, command (DLQ: error too; Jobs: queue:NAME for one queue), Esc clears", .filter, panes: [.jobs, .workers, .dlq],
          footer: "filter"),
        b([.escape], "Esc", "close the overlay / clear the filter / clear marks", .escape),
        b([.enter], "Enter", "job detail: fields, run history, output", .detail, panes: [.jobs, .dlq, .workers], footer: "detail"),
        b([.char("["), .left], "[ ←", "previous state tab", .previousStateTab, panes: [.jobs], footer: "prev tab"),
        b([.char("]"), .right], "] →", "next state tab", .nextStateTab, panes: [.jobs], footer: "next tab"),
        b([.char("r")], "r", "retry the selected dead job", .retrySelected, panes: [.dlq], mutates: true, footer: "retry"),
        b([.char(" ")], "Space", "mark / unmark a job", .toggleMark, panes: [.jobs, .dlq], mutates: true, footer: "mark"),
        b([.char("c")], "c", "cancel the marked (or selected) jobs, after y/N", .cancelJobs, panes: [.jobs], mutates: true,
          footer: "cancel"),
        b([.char("n")], "n", "run the marked (or selected) delayed or retry-waiting jobs now, after y/N", .runNow,
          panes: [.jobs], mutates: true),
        b([.char("R")], "R", "requeue the marked (or selected) final jobs as new jobs, after y/N", .requeue,
          panes: [.jobs], mutates: true),
        b([.char("R")], "R", "retry the marked (or all) dead jobs, after y/N", .retryMarked, panes: [.dlq], mutates: true,
          footer: "retry marked"),
        b([.char("+")], "+", "start a worker", .addWorker, mutates: true, footer: "add worker"),
        b([.char("-")], "-", "stop a worker (an idle one first; it finishes its job)", .removeWorker, mutates: true, footer: "stop worker"),
        b([.char("S")], "S", "stop all workers gracefully, after y/N", .stopAllWorkers, mutates: true, footer: "stop all",
          footerPanes: [.workers]),
        // Before the global `p`: in the Queues pane it acts on the queue.
        b([.char("p")], "p", "pause / resume the selected queue", .toggleQueuePause, panes: [.queues], mutates: true,
          footer: "pause queue"),
        b([.char("L")], "L", "set the selected queue's concurrency limit (0: none)", .setQueueLimit, panes: [.queues], mutates: true,
          footer: "limit"),
        b([.char("p")], "p", "pause / resume refresh (Queues pane: the queue)", .pause, footer: "pause",
          footerPanes: [.jobs, .workers, .dlq, .log]),
    ]

    /// `footer`: the binding's short words in the footer (nil: help only), on
    /// `footerPanes` (default: wherever it applies).
    private static func b(_ keys: [Key], _ label: String, _ summary: String, _ action: KeyAction, panes: Set<Pane>? = nil,
                          mutates: Bool = false, footer: String? = nil, footerPanes: Set<Pane>? = nil) -> KeyBinding {
        KeyBinding(keys: keys, label: label, summary: summary, short: footer ?? summary, action: action, panes: panes,
                   mutates: mutates, inFooter: footer != nil, footerPanes: footerPanes ?? panes)
    }

    /// The action of `key` in `pane`, if any.
    public static func action(for key: Key, in pane: Pane, readonly: Bool) -> KeyAction? {
        if key == .ctrlC { return .quit }
        return bindings.first { binding in
            binding.keys.contains(key) && (binding.panes?.contains(pane) ?? true) && !(readonly && binding.mutates)
        }?.action
    }

    /// Bindings shown in `pane`'s footer.
    public static func footer(for pane: Pane, readonly: Bool) -> [KeyBinding] {
        bindings.filter { $0.inFooter && ($0.footerPanes?.contains(pane) ?? true) && !(readonly && $0.mutates) }
    }

    /// The help screen's lines, generated from the table: the keys that work
    /// everywhere, then those of each pane (or group of panes), each group under a
    /// heading (the lines that do not start with a space).
    public static func helpLines(readonly: Bool) -> [String] {
        let visible = bindings.filter { !(readonly && $0.mutates) }
        let width = visible.map(\.label.count).max() ?? 5
        var groups: [(scope: Set<Pane>?, bindings: [KeyBinding])] = []
        for binding in visible {
            if let i = groups.firstIndex(where: { $0.scope == binding.panes }) {
                groups[i].bindings.append(binding)
            } else {
                groups.append((binding.panes, [binding]))
            }
        }
        var lines: [String] = []
        // Everywhere first, then wider scopes before single panes, else table order.
        let ordered = groups.enumerated().sorted { a, b in
            let (wa, wb) = (a.element.scope?.count ?? Int.max, b.element.scope?.count ?? Int.max)
            return wa != wb ? wa > wb : a.offset < b.offset
        }.map(\.element)
        for group in ordered {
            if !lines.isEmpty { lines.append("") }
            let names = group.scope.map { $0.sorted { $0.rawValue < $1.rawValue }.map(\.title).joined(separator: ", ") }
            lines.append(names.map { "In \($0)" } ?? "Everywhere")
            for binding in group.bindings {
                lines.append("  " + binding.label.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + binding.summary)
            }
        }
        return lines
    }
}
