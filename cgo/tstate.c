/* tstate.c — one thread state per (OS thread, interpreter).
 *
 * A request's Python work happens inside one C call, so it runs on one OS thread from the
 * first Python call to close(); the thread state made for that thread and interpreter is kept
 * in thread-local storage and reused by every later request that lands on the same thread.
 * That keeps threading.local and contextvars coherent and avoids PyGILState_* (which only
 * knows the main interpreter). */
#include "pyh.h"
#include <time.h>

static __thread PyThreadState *thread_states[PYH_MAX_INTERPS];

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void pyh_register_tstate(pyh_interp *in, PyThreadState *ts) { thread_states[in->index] = ts; }

PyThreadState *pyh_attach(pyh_interp *in, int64_t *wait_ns) {
    PyThreadState *ts = thread_states[in->index];
    if (ts == NULL) {
        /* PyThreadState_New needs no attached thread state; it binds to this OS thread. */
        ts = PyThreadState_New(in->state);
        thread_states[in->index] = ts;
    }
    int64_t t0 = now_ns();
    PyEval_RestoreThread(ts);
    if (wait_ns) *wait_ns = now_ns() - t0;
    return ts;
}

void pyh_detach(void) { PyEval_SaveThread(); }
