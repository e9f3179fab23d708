#define _GNU_SOURCE
#include "cqueuesys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

pid_t qc_spawn(const char *path, char *const argv[], char *const envp[], const qc_spawn_options *o) {
    // Block every signal so no handler of the parent runs in the vfork child,
    // which shares the parent's memory until exec.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);

    volatile int child_errno = 0;
    pid_t parent = getpid();
    pid_t pid = vfork();
    if (pid == 0) {
        // Child: async-signal-safe calls only.
        if (o->new_session && setsid() < 0) { child_errno = errno; _exit(127); }
        if (o->death_signal > 0) {
            if (prctl(PR_SET_PDEATHSIG, o->death_signal) < 0) { child_errno = errno; _exit(127); }
            // The parent may have died between vfork and prctl.
            if (getppid() != parent) _exit(127);
        }
        int null_fd = -1;
        if (o->stdin_fd < 0 || o->stdout_fd < 0 || o->stderr_fd < 0) {
            null_fd = open("/dev/null", O_RDWR);
        }
        int fds[3] = { o->stdin_fd, o->stdout_fd, o->stderr_fd };
        for (int i = 0; i < 3; i++) {
            int src = fds[i] < 0 ? null_fd : fds[i];
            if (src < 0) continue;
            if (src == i) {
                int flags = fcntl(i, F_GETFD);
                if (flags >= 0) fcntl(i, F_SETFD, flags & ~FD_CLOEXEC);
            } else if (dup2(src, i) < 0) { child_errno = errno; _exit(127); }
        }
        // Nothing of the parent's (database, sockets, pipes) leaks into the job.
        syscall(SYS_close_range, 3, ~0U, 0);
        if (o->working_directory && chdir(o->working_directory) < 0) { child_errno = errno; _exit(127); }
        // Default dispositions and an empty mask, whatever the parent had.
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; s++) {
            if (s == SIGKILL || s == SIGSTOP) continue;
            sigaction(s, &dfl, NULL);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, envp);
        child_errno = errno;
        _exit(127);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) { errno = saved; return -1; }
    if (child_errno != 0) {
        // exec failed: reap the child and report its errno.
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        errno = child_errno;
        return -1;
    }
    return pid;
}

static volatile sig_atomic_t stop_count = 0;
static volatile sig_atomic_t last_signal = 0;
static int stop_wake_fd = -1;
static pid_t original_parent = 0;
static volatile sig_atomic_t parent_signal_seen = 0;

static void on_stop_signal(int sig, siginfo_t *info, void *context) {
    (void)context;
    int saved = errno;
    // PR_SET_PDEATHSIG is sent each time this process is handed to another thread
    // of its dying (multithreaded) parent, so a supervisor's death can deliver its
    // death signal several times: a second stop would cancel the running job.
    // Signals sent by the original parent (that one included) count once.
    if (info != NULL && info->si_code == SI_USER && original_parent > 1 && info->si_pid == original_parent) {
        if (parent_signal_seen) { errno = saved; return; }
        parent_signal_seen = 1;
    }
    stop_count++;
    last_signal = sig;
    if (stop_wake_fd >= 0) {
        char byte = 1;
        ssize_t ignored = write(stop_wake_fd, &byte, 1);
        (void)ignored;
    }
    errno = saved;
}

int qc_install_stop_handler(int wake_fd) {
    stop_wake_fd = wake_fd;
    original_parent = getppid();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    if (sigaction(SIGTERM, &sa, NULL) < 0) return -1;
    if (sigaction(SIGINT, &sa, NULL) < 0) return -1;
    if (sigaction(SIGHUP, &sa, NULL) < 0) return -1;
    // The signal mask is inherited across exec: a parent that spawns us from a
    // thread blocking these signals (every libdispatch worker thread does, so any
    // Swift program using Process) would leave the handler unreachable and SIGTERM
    // without effect. Unblock them in this (the main) thread.
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGHUP);
    if (pthread_sigmask(SIG_UNBLOCK, &stops, NULL) != 0) return -1;
    return 0;
}

int qc_stop_signal_count(void) { return stop_count; }
int qc_last_stop_signal(void) { return last_signal; }

int qc_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int qc_pidfd_send_signal(int pidfd, int sig) { return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0); }

int qc_become_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

pid_t qc_gettid(void) { return (pid_t)syscall(SYS_gettid); }

int qc_wifexited(int status) { return WIFEXITED(status); }
int qc_wexitstatus(int status) { return WEXITSTATUS(status); }
int qc_wifsignaled(int status) { return WIFSIGNALED(status); }
int qc_wtermsig(int status) { return WTERMSIG(status); }

int qc_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int qc_has_exited(pid_t pid) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return 1;
    return info.si_pid != 0;
}
