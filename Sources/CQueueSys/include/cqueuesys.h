#ifndef CQUEUESYS_H
#define CQUEUESYS_H

#include <sys/types.h>
#include <stdint.h>

/// Options for qc_spawn. Everything the child does before exec is async-signal-safe.
typedef struct qc_spawn_options {
    /// Descriptors installed as the child's 0, 1 and 2 (-1: /dev/null).
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;
    /// Signal the child receives when the spawning *thread* dies (0: none).
    int death_signal;
    /// Non-zero: the child calls setsid(), so it leads a new session and process group.
    int new_session;
    /// Non-zero: the child starts in this working directory instead of the parent's.
    const char *working_directory;
} qc_spawn_options;

/// vfork + exec of `path` with `argv`/`envp`. Returns the pid, or -1 with errno set
/// (also when exec itself failed in the child).
pid_t qc_spawn(const char *path, char *const argv[], char *const envp[], const qc_spawn_options *options);

/// Installs SIGTERM/SIGINT/SIGHUP handlers that set a flag and write one byte to `wake_fd`
/// (a non-blocking pipe), so a loop blocked in poll() wakes up at once.
int qc_install_stop_handler(int wake_fd);
/// Number of stop signals received since qc_install_stop_handler.
int qc_stop_signal_count(void);
/// Last stop signal received (0 if none).
int qc_last_stop_signal(void);

/// pidfd_open(2): a descriptor that polls readable when the process exits.
int qc_pidfd_open(pid_t pid);

/// pidfd_send_signal(2): signals exactly the process the pidfd was opened for.
int qc_pidfd_send_signal(int pidfd, int sig);

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants are re-parented to this
/// process instead of PID 1. 0 on success.
int qc_become_child_subreaper(void);

/// The calling thread's id (gettid(2)).
pid_t qc_gettid(void);

/// pipe2(fds, O_CLOEXEC).
int qc_pipe_cloexec(int fds[2]);
/// Non-zero once `pid` (a child) has exited; does not reap it.
int qc_has_exited(pid_t pid);

/// waitpid status decoding (these are macros in C).
int qc_wifexited(int status);
int qc_wexitstatus(int status);
int qc_wifsignaled(int status);
int qc_wtermsig(int status);

#endif
