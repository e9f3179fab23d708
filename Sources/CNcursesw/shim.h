#ifndef CNCURSESW_SHIM_H
#define CNCURSESW_SHIM_H
// Wide-character ncurses: _XOPEN_SOURCE_EXTENDED must come before the header.
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <wchar.h>
#include <ncursesw/ncurses.h>

// Swift does not import C macros with arguments or computed attribute bits;
// these inline functions stand in for them.
static inline WINDOW *qc_stdscr(void) { return stdscr; }
static inline int qc_lines(void) { return LINES; }
static inline int qc_cols(void) { return COLS; }
static inline attr_t qc_color_pair(short n) { return COLOR_PAIR(n); }
static inline attr_t qc_a_normal(void) { return A_NORMAL; }
static inline attr_t qc_a_bold(void) { return A_BOLD; }
static inline attr_t qc_a_reverse(void) { return A_REVERSE; }
static inline attr_t qc_a_dim(void) { return A_DIM; }
static inline attr_t qc_a_underline(void) { return A_UNDERLINE; }
static inline int qc_attrset(attr_t a) { return wattrset(stdscr, (int)a); }
static inline int qc_mvaddstr(int y, int x, const char *s) { return mvwaddstr(stdscr, y, x, s); }
static inline int qc_get_wch(wint_t *c) { return wget_wch(stdscr, c); }
static inline int qc_key_code_yes(void) { return KEY_CODE_YES; }
static inline void qc_timeout(int ms) { wtimeout(stdscr, ms); }
static inline int qc_erase(void) { return werase(stdscr); }
static inline int qc_wnoutrefresh(void) { return wnoutrefresh(stdscr); }
static inline int qc_keypad(bool on) { return keypad(stdscr, on); }
// newterm on the process's stdout/stdin: unlike initscr it returns NULL (instead of
// exiting the process) when the terminal type is unknown.
static inline SCREEN *qc_newterm(void) { return newterm(NULL, stdout, stdin); }
#endif
