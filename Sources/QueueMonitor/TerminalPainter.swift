import CNcursesw
import Foundation
import QueueCore

/// The only code that talks to ncurses. It paints finished frames (erase, draw,
/// `wnoutrefresh`, `doupdate`: ncurses sends only what changed, so nothing
/// flickers) and decodes keys. Used from one thread only.
final class TerminalPainter {
    private(set) var colors = false
    private var screen: OpaquePointer?

    /// Takes over the terminal. `useColor` is false with NO_COLOR. Throws when the
    /// terminal type is unknown (nothing has been drawn then).
    func start(useColor: Bool) throws {
        setlocale(LC_ALL, "")
        // Under LANG=C ncursesw would print every non-ASCII byte as an escape
        // (M-b…) and the frame's lines and bars as garbage; nearly every terminal
        // today takes UTF-8, so ask for it.
        if let codeset = nl_langinfo(nl_item(CODESET)), String(cString: codeset) != "UTF-8" {
            setlocale(LC_CTYPE, "C.UTF-8")
        }
        guard let screen = qc_newterm() else {
            let term = ProcessInfo.processInfo.environment["TERM"] ?? ""
            throw QueueError.runtime("cannot drive this terminal (TERM=\(term.isEmpty ? "unset" : term)): "
                                     + "no terminfo entry for it; try TERM=xterm-256color")
        }
        set_term(screen)
        self.screen = screen
        raw()            // Ctrl-C arrives as a key, so it always quits cleanly
        noecho()
        nonl()
        _ = qc_keypad(true)
        set_escdelay(25)
        curs_set(0)
        if useColor && has_colors() {
            start_color()
            use_default_colors()
            colors = true
            for (i, color) in Self.palette.enumerated() { init_pair(Int16(i + 1), color.curses, -1) }
        }
    }

    /// Gives the terminal back. Safe to call twice.
    func stop() {
        guard let screen else { return }
        self.screen = nil
        curs_set(1)
        endwin()
        delscreen(screen)
    }

    var size: (width: Int, height: Int) { (Int(qc_cols()), Int(qc_lines())) }

    private static let palette: [StateColor] = StateColor.allCases

    private func attributes(_ style: TextStyle) -> attr_t {
        var a = qc_a_normal()
        if style.bold { a |= qc_a_bold() }
        if style.reverse { a |= qc_a_reverse() }
        if style.dim { a |= qc_a_dim() }
        if colors, let color = style.color, let i = Self.palette.firstIndex(of: color) { a |= qc_color_pair(Int16(i + 1)) }
        return a
    }

    func paint(_ screen: Screen) {
        _ = qc_erase()
        for (y, line) in screen.lines.enumerated() {
            var x = 0
            for span in line.spans where !span.text.isEmpty {
                _ = qc_attrset(attributes(span.style))
                _ = qc_mvaddstr(Int32(y), Int32(x), span.text)
                x += DisplayWidth.of(span.text)
            }
        }
        _ = qc_attrset(qc_a_normal())
        _ = qc_wnoutrefresh()
        doupdate()
    }

    /// The next key, waiting at most `milliseconds`.
    func readKey(milliseconds: Int32) -> Key? {
        qc_timeout(milliseconds)
        var ch: wint_t = 0
        let result = qc_get_wch(&ch)
        if result == ERR { return nil }
        if result == qc_key_code_yes() {
            switch Int32(ch) {
            case KEY_UP: return .up
            case KEY_DOWN: return .down
            case KEY_LEFT: return .left
            case KEY_RIGHT: return .right
            case KEY_PPAGE: return .pageUp
            case KEY_NPAGE: return .pageDown
            case KEY_HOME: return .home
            case KEY_END: return .end
            case KEY_BTAB: return .backTab
            case KEY_ENTER: return .enter
            case KEY_BACKSPACE: return .backspace
            case KEY_RESIZE: return .resize
            default: return nil
            }
        }
        switch ch {
        case 3: return .ctrlC
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        default:
            guard let scalar = Unicode.Scalar(UInt32(ch)), ch >= 32 else { return nil }
            return .char(Character(scalar))
        }
    }
}

extension StateColor {
    var curses: Int16 {
        switch self {
        case .yellow: return Int16(COLOR_YELLOW)
        case .blue: return Int16(COLOR_BLUE)
        case .green: return Int16(COLOR_GREEN)
        case .magenta: return Int16(COLOR_MAGENTA)
        case .red: return Int16(COLOR_RED)
        case .cyan: return Int16(COLOR_CYAN)
        case .white: return Int16(COLOR_WHITE)
        }
    }
}
