/* tstate.c — one thread state per (OS thread, interpreter).
 *
 * A request's Python work happens inside one C call, so it runs on one OS thread from the
 * first Python call to close(); the thread state made for that thread and interpreter is kept
 * in thread-local storage and reused by every later request that lands on the same thread.
 * That keeps threading.local and contextvars coherent and avoids PyGILState_* (which only
 * knows the main interpreter).
 *
 * pyhost never calls PyGILState_Ensure, but C code inside a request does: a ctypes callback,
 * a sqlite3 user function and many extensions release the GIL and re-enter Python through it.
 * PyGILState_Ensure picks the thread state CPython has bound to this OS thread, so that
 * binding decides which interpreter the callback runs in:
 *
 * - 3.11 binds the FIRST thread state created on a thread and never moves it. A thread that
 *   served a sub-interpreter first would run every later %{GLOBAL} callback inside that
 *   sub-interpreter (with the wrong sys.modules, or worse). So on 3.11 the main interpreter
 *   gets its thread state on a thread before any sub-interpreter does (DESIGN rule 9, the
 *   rule mod_wsgi follows): %{GLOBAL} callbacks are right, and a sub-interpreter's callbacks
 *   run in the main interpreter, as under mod_wsgi (3.11 has no way to bind another one;
 *   apps whose C extensions call back through PyGILState belong in %{GLOBAL} there).
 * - 3.12 and later rebind on every attach (pystate.c: tstate_activate() calls
 *   bind_gilstate_tstate() for a thread state not yet bound), so the binding is always the
 *   thread state pyhost attached for the request: callbacks run in the request's own
 *   interpreter, %{GLOBAL} or not. That is the only correct answer for a sub-interpreter
 *   with its own GIL (its objects must never run under another interpreter's GIL) and for
 *   the free-threaded build, so nothing is done there while serving. Ending an interpreter
 *   needs care on 3.12+: see pyh_delete_made_tstates. */
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

/* Makes this OS thread's thread state for the interpreter (no thread state need be attached:
 * PyThreadState_New binds the new one to the calling thread). */
static PyThreadState *make_tstate(pyh_interp *in) {
    PyThreadState *ts = PyThreadState_New(in->state);
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
    return ts;
}

PyThreadState *pyh_thread_state(pyh_interp *in) {
    PyThreadState *ts = thread_states[in->index];
    if (ts == NULL) {
#if PY_VERSION_HEX < 0x030C0000
        /* 3.11 binds PyGILState to the first thread state made on a thread: make it the main
         * interpreter's (see the top of this file). */
        pyh_interp *main = pyh_main_interp();
        if (in != main && thread_states[main->index] == NULL) make_tstate(main);
#endif
        ts = make_tstate(in);
    }
    return ts;
}

void pyh_attach_state(PyThreadState *ts, int64_t *wait_ns) {
    int64_t t0 = now_ns();
    PyEval_RestoreThread(ts);
    if (wait_ns) *wait_ns = now_ns() - t0;
}

PyThreadState *pyh_attach(pyh_interp *in, int64_t *wait_ns) {
    PyThreadState *ts = pyh_thread_state(in);
    pyh_attach_state(ts, wait_ns);
    return ts;
}

void pyh_detach(void) { PyEval_SaveThread(); }

/* Deletes the thread states pyhost made for request threads, on the thread that ends the
 * interpreter (the runtime's main thread, with in's owner attached).
 *
 * 3.12+: deleting a thread state that PyGILState is bound to (every request thread's last
 * attached one is) clears the binding of the CALLING thread, whatever thread it was bound on
 * (pystate.c: tstate_delete_common() -> unbind_gilstate_tstate() -> gilstate_tss_clear()).
 * Done naively, that unbinds the owner on this thread, and the owner cannot be bound again:
 * its "bound" flag stays set, so attaching it no longer rebinds. Every later PyGILState_Ensure
 * on this thread — sqlite3 calling the destructor of a function Django registered while
 * Py_EndInterpreter frees the connection, a ctypes callback freed with a module — then finds
 * no thread state, makes one in the MAIN interpreter and frees the sub-interpreter's objects
 * there: with an own GIL, another allocator ("free(): invalid size", abort).
 *
 * So: clear them all first, with the owner attached and bound (clearing runs the app's
 * destructors: thread-locals, contexts); then delete them with a spare thread state bound in
 * the owner's place, which takes the unbinding; delete the spare while it is current (which
 * leaves this thread unbound), and attach the owner again, which binds it. 3.11 unbinds only
 * a thread state bound to the calling thread, so nothing more is needed there. */
void pyh_delete_made_tstates(pyh_interp *in) {
    pthread_mutex_lock(&made_lock);
    PyThreadState **made = in->made;
    int n = in->nmade;
    in->made = NULL;
    in->nmade = in->capmade = 0;
    pthread_mutex_unlock(&made_lock);

    for (int i = 0; i < n; i++) {
        if (made[i] != in->owner) PyThreadState_Clear(made[i]);
    }
#if PY_VERSION_HEX >= 0x030C0000
    PyThreadState *spare = PyThreadState_New(in->state);
    PyThreadState_Swap(spare); /* binds spare, unbinding the owner */
#endif
    for (int i = 0; i < n; i++) {
        if (made[i] != in->owner) PyThreadState_Delete(made[i]);
    }
#if PY_VERSION_HEX >= 0x030C0000
    PyThreadState_Clear(spare);
    PyThreadState_DeleteCurrent(); /* this thread: no binding, nothing attached */
    PyEval_RestoreThread(in->owner); /* binds the owner */
#endif
    PyMem_RawFree(made);
}
