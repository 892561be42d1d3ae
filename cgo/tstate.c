/* tstate.c — one thread state per (OS thread, interpreter).
 *
 * A request's Python work happens inside one C call, so it runs on one OS thread from the
 * first Python call to close(); the thread state made for that thread and interpreter is kept
 * in thread-local storage and reused by every later request that lands on the same thread.
 * That keeps threading.local and contextvars coherent and avoids PyGILState_* (which only
 * knows the main interpreter). */
#include "pyh.h"
#include <pthread.h>
#include <time.h>

/* Guards every interpreter's list of made thread states; taken only when a thread meets an
 * interpreter for the first time, and at teardown. */
static pthread_mutex_t made_lock = PTHREAD_MUTEX_INITIALIZER;

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
        /* Remember it: teardown deletes these, and only these (threads the app started keep
         * theirs until they end). */
        pthread_mutex_lock(&made_lock);
        if (in->nmade == in->capmade) {
            int cap = in->capmade ? in->capmade * 2 : 16;
            PyThreadState **grown = PyMem_RawRealloc(in->made, cap * sizeof *grown);
            if (grown != NULL) {
                in->made = grown;
                in->capmade = cap;
            }
        }
        if (in->nmade < in->capmade) in->made[in->nmade++] = ts;
        pthread_mutex_unlock(&made_lock);
    }
    int64_t t0 = now_ns();
    PyEval_RestoreThread(ts);
    if (wait_ns) *wait_ns = now_ns() - t0;
    return ts;
}

void pyh_detach(void) { PyEval_SaveThread(); }

void pyh_delete_made_tstates(pyh_interp *in) {
    pthread_mutex_lock(&made_lock);
    for (int i = 0; i < in->nmade; i++) {
        if (in->made[i] == in->owner) continue;
        PyThreadState_Clear(in->made[i]);
        PyThreadState_Delete(in->made[i]);
    }
    in->nmade = 0;
    pthread_mutex_unlock(&made_lock);
}
