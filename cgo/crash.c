/* crash.c — what a crash in C code called from Python leaves in the log.
 *
 * A fatal signal in an extension module (or ctypes) used to print Go's crash report only: some
 * 300 lines of pyhost's goroutine stacks, and nothing of the Python code that made the call.
 * Now the operator sees the Python stack of the crashing thread first, what faulthandler
 * prints, then one line saying where Go's report went: a file, pyh_crash_prepare's prefix plus
 * the process id (Go's report on stderr would push the Python stack out of sight).
 *
 * Two handlers, chained in front of Go's:
 *   stage 1, on top: a signal on a thread with no Python thread state attached is a fault in
 *     Go code (or in C code with the GIL released); it goes straight to Go's handler, so a
 *     nil dereference in Go stays the recoverable panic Go makes of it. Otherwise the Python
 *     stack is printed: by faulthandler (3.12+: it dumps the thread state attached last on
 *     the thread, the request's), or here (3.11: faulthandler would dump the main
 *     interpreter's thread state of the thread, empty during a sub-interpreter's request).
 *   stage 2, under faulthandler (installed before Python starts, so faulthandler, enabled by
 *     pyhost or PYTHONFAULTHANDLER, re-raises into it): with a Python thread state attached it
 *     points stderr at the report file, then hands the signal to Go, which writes its report
 *     there and exits with status 2 (a worker's supervisor still gets the report's first line
 *     on the status pipe: debug.SetCrashOutput writes there too).
 * Everything here runs inside a signal handler: only async-signal-safe calls. */
#include "pyh.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#if PY_VERSION_HEX < 0x030C0000
/* Exported by libpython 3.11 (faulthandler's own dump), declared in an internal header. */
PyAPI_FUNC(void) _Py_DumpTraceback(int fd, PyThreadState *tstate);
#endif

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static const char *const fatal_names[] = {"Segmentation fault", "Bus error",
                                          "Floating point exception", "Illegal instruction",
                                          "Aborted"};
#define NFATAL ((int)(sizeof fatal_signals / sizeof fatal_signals[0]))

static struct sigaction go_action[NFATAL];    /* Go's handlers, found before Python started */
static struct sigaction below_stage1[NFATAL]; /* what stage 1 was installed over */
static char report_prefix[1024];              /* the report file's path, less "<pid>.txt" */
static volatile sig_atomic_t diverted;

static int fatal_index(int sig) {
    for (int i = 0; i < NFATAL; i++) {
        if (fatal_signals[i] == sig) return i;
    }
    return -1;
}

/* python_runs_here: a Python thread state is attached on the calling thread. */
static int python_runs_here(void) {
#if PY_VERSION_HEX >= 0x030D0000
    return PyThreadState_GetUnchecked() != NULL;
#elif PY_VERSION_HEX >= 0x030C0000
    return _PyThreadState_UncheckedGet() != NULL;
#else
    /* 3.11 keeps one current thread state per process: the GIL holder's. */
    PyThreadState *ts = _PyThreadState_UncheckedGet();
    return ts != NULL && ts->thread_id == PyThread_get_thread_ident();
#endif
}

static void put(const char *s) {
    ssize_t n = write(2, s, strlen(s));
    (void)n;
}

/* forward hands the signal to the handler in act, as the kernel would have. */
static void forward(const struct sigaction *act, int sig, siginfo_t *info, void *ctx) {
    if (act->sa_flags & SA_SIGINFO) {
        act->sa_sigaction(sig, info, ctx);
    } else if (act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN) {
        act->sa_handler(sig);
    } else {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, NULL);
        raise(sig);
    }
}

/* divert_go_report points stderr at the report file, once, saying so first. */
static void divert_go_report(void) {
    if (diverted) return;
    diverted = 1;
    char path[sizeof report_prefix + 32];
    size_t n = strlen(report_prefix);
    memcpy(path, report_prefix, n);
    char digits[24];
    int d = 0;
    for (long pid = (long)getpid(); pid > 0 && d < (int)sizeof digits; pid /= 10) {
        digits[d++] = (char)('0' + pid % 10);
    }
    while (d > 0) path[n++] = digits[--d];
    memcpy(path + n, ".txt", 5);
    int fd = n > 4 ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    if (fd < 0) {
        put("\npyhost: Go's report of this crash follows (pyhost's goroutine stacks; the "
            "Python stack is above)\n");
        return;
    }
    put("\npyhost: Go's report of this crash (pyhost's goroutine stacks; the Python stack is "
        "above) is in ");
    put(path);
    put("\n");
    dup2(fd, 2);
    close(fd);
}

static void stage2(int sig, siginfo_t *info, void *ctx) {
    int i = fatal_index(sig);
    int saved = errno;
    if (python_runs_here()) divert_go_report();
    errno = saved;
    forward(&go_action[i], sig, info, ctx);
}

static void stage1(int sig, siginfo_t *info, void *ctx) {
    int i = fatal_index(sig);
    if (!python_runs_here()) {
        forward(&go_action[i], sig, info, ctx);
        return;
    }
#if PY_VERSION_HEX < 0x030C0000
    /* One write for the first line, so that another process's log line on the same stderr
     * (a supervisor's) cannot land inside it. */
    char first[96] = "Fatal Python error: ";
    size_t n = strlen(first), name = strlen(fatal_names[i]);
    memcpy(first + n, fatal_names[i], name);
    memcpy(first + n + name, "\n\n", 3);
    put(first);
    _Py_DumpTraceback(2, _PyThreadState_UncheckedGet());
    stage2(sig, info, ctx);
#else
    (void)fatal_names;
    forward(&below_stage1[i], sig, info, ctx);
#endif
}

static void install(void (*fn)(int, siginfo_t *, void *), struct sigaction *old) {
    for (int i = 0; i < NFATAL; i++) {
        struct sigaction act;
        memset(&act, 0, sizeof act);
        act.sa_sigaction = fn;
        /* SA_ONSTACK: Go's signal stack (a fault may be a stack overflow); SA_NODEFER: a
         * handler below may re-raise the signal from inside this one. */
        act.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
        sigemptyset(&act.sa_mask);
        sigaction(fatal_signals[i], &act, &old[i]);
    }
}

void pyh_crash_prepare(const char *report_path_prefix) {
    size_t n = strlen(report_path_prefix);
    if (n < sizeof report_prefix) memcpy(report_prefix, report_path_prefix, n + 1);
    install(stage2, go_action);
}

void pyh_crash_arm(void) { install(stage1, below_stage1); }
