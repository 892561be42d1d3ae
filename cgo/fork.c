/* fork.c — a process forked inside a request (os.fork(), multiprocessing's fork start method)
 * never runs Go code.
 *
 * The child has one thread, the one that forked, and a copy of the Go runtime whose other
 * threads are gone: any call into Go, or a return from pyh_serve into Go, would hang or crash it
 * — or answer the parent's client as a second server. A pthread_atfork handler marks the child
 * (one flag read per callback and per request end, no syscall); the callbacks then raise
 * OSError, and a child that reaches the end of pyh_serve exits there as plain Python would at
 * the end of its program. Signals Go handles in the parent get their default action back in
 * the child, since no Go code will ever read them there: multiprocessing stops its workers with
 * SIGTERM. Until the child has reset them, a signal sent to it would run Go's handler, which
 * queues it for a goroutine the child does not have: it would be lost, and a Pool worker that
 * Pool.terminate() signalled right after forking it would live on and hang the request in
 * join(). So the forking thread blocks signals across fork(): one sent to the child in that
 * window stays pending and is delivered, with its default action, once the child has reset the
 * handlers and unblocked it. */
#include "pyh.h"
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile int forked_child;
static void *go_signal_handler; /* the handler Go installed, seen just before the fork */
/* The forking thread's signal mask before before_fork blocked signals; glibc holds its fork
 * lock from the prepare handlers to the parent and child ones, so forks do not interleave. */
static __thread sigset_t mask_before_fork;
static __thread int mask_saved;

static void *handler_of(const struct sigaction *sa) {
    return (sa->sa_flags & SA_SIGINFO) ? (void *)sa->sa_sigaction : (void *)sa->sa_handler;
}

static void before_fork(void) {
    /* Go handles SIGURG (goroutine preemption) itself whatever the app does. */
    struct sigaction sa;
    if (sigaction(SIGURG, NULL, &sa) == 0) go_signal_handler = handler_of(&sa);
    /* Faults stay unblocked: one blocked while it happens kills the process without a report. */
    sigset_t all;
    sigfillset(&all);
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) sigdelset(&all, faults[i]);
    mask_saved = pthread_sigmask(SIG_BLOCK, &all, &mask_before_fork) == 0;
}

static void restore_mask(void) {
    if (!mask_saved) return;
    mask_saved = 0;
    pthread_sigmask(SIG_SETMASK, &mask_before_fork, NULL);
}

static void reset_go_handlers(void) {
    if (go_signal_handler == NULL) return;
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction sa;
        if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) != 0) continue;
        if (handler_of(&sa) != go_signal_handler) continue; /* the app's, or default/ignored */
        struct sigaction reset = {0};
        /* Python ignores these two so that writes fail with an error instead. */
        reset.sa_handler = sig == SIGPIPE || sig == SIGXFSZ ? SIG_IGN : SIG_DFL;
        sigemptyset(&reset.sa_mask);
        sigaction(sig, &reset, NULL);
    }
}

static void in_child(void) {
    forked_child = 1;
    reset_go_handlers();
    restore_mask(); /* a signal that came meanwhile is delivered now, to the default handler */
}

__attribute__((constructor)) static void watch_forks(void) {
    pthread_atfork(before_fork, restore_mask, in_child);
}

int pyh_forked_child(void) { return forked_child; }

int pyh_refuse_in_forked_child(void) {
    if (!forked_child) return 0;
    PyErr_SetString(PyExc_OSError, "this process was forked inside a request: the client "
                    "connection belongs to the parent process, which answers it");
    return -1;
}

static void flush_std_stream(const char *name) {
    PyObject *f = PySys_GetObject(name); /* borrowed */
    if (f == NULL || f == Py_None) return;
    PyObject *r = PyObject_CallMethod(f, "flush", NULL);
    if (r == NULL) PyErr_Clear();
    Py_XDECREF(r);
}

/* The status plain Python exits with when its program ends with `error` (NULL: no error). */
static int exit_status(PyObject *error) {
    if (error == NULL) {
        PySys_FormatStderr("pyhost: process %d was forked by the app (inside a request, or while "
                           "it was imported) and returned into the server; it exits with status "
                           "1 (end a forked child with os._exit() or sys.exit())\n",
                           (int)getpid());
        return 1;
    }
    if (!PyErr_GivenExceptionMatches(error, PyExc_SystemExit)) {
        pyh_restore_exception(error); /* printed as Python prints an uncaught exception */
        PyErr_Print();
        return 1;
    }
    int status = 0;
    PyObject *code = PyObject_GetAttrString(error, "code");
    Py_DECREF(error);
    if (code == NULL) {
        PyErr_Clear();
        return 1;
    }
    if (PyLong_Check(code)) {
        status = (int)PyLong_AsLong(code);
        if (status == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            status = 1;
        }
    } else if (code != Py_None) { /* sys.exit("message"): printed, status 1 */
        PyObject *err = PySys_GetObject("stderr");
        if (err == NULL || err == Py_None || PyFile_WriteObject(code, err, Py_PRINT_RAW) < 0 ||
            PyFile_WriteString("\n", err) < 0)
            PyErr_Clear();
        status = 1;
    }
    Py_DECREF(code);
    return status;
}

void pyh_exit_if_forked_child(PyObject *error) {
    if (!forked_child) return;
    int status = exit_status(error);
    flush_std_stream("stdout");
    flush_std_stream("stderr");
    fflush(NULL);
    _exit(status & 0xff); /* no atexit, no Go: neither belongs to this copy of the process */
}
