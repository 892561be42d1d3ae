/* gil_probe.c — is an interpreter's GIL held right now? And, free-threaded: is it on at all?
 *
 * The gate in front of Python (gil/gate.go) keeps request threads waiting in Go rather than
 * inside take_gil(), and must let the next one in as soon as the request inside releases the
 * GIL (I/O, sleep, a slow client). CPython has no public call that says whether the GIL is
 * held by anyone, so this one file reads the GIL's own flag through the internal headers that
 * every CPython installation ships (Include/internal). It only ever reads one int, racily:
 * a stale answer only makes the gate look again 200 µs later. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#include <limits.h>
#include "pyh.h"

int pyh_gil_held(PyInterpreterState *interp) {
#if PY_VERSION_HEX < 0x030C0000
    /* 3.11: one GIL for the whole runtime. */
    (void)interp;
    return _Py_atomic_load_relaxed(&_PyRuntime.ceval.gil.locked);
#elif PY_VERSION_HEX < 0x030D0000
    struct _gil_runtime_state *gil = interp->ceval.gil;
    return gil != NULL && _Py_atomic_load_relaxed(&gil->locked);
#else
    struct _gil_runtime_state *gil = interp->ceval.gil;
    return gil != NULL && _Py_atomic_load_int_relaxed(&gil->locked);
#endif
}

/* Free-threaded builds keep a GIL that is off until an extension module without free-threading
 * support switches it on for good (enabled == INT_MAX; a smaller count is a module of unknown
 * safety being created, transiently). sys._is_gil_enabled() answers the same question through a
 * Python call; this one is a load, so every request can afford to ask it until the answer is
 * yes, once per interpreter. */
int pyh_gil_watching;

int pyh_gil_on(pyh_interp *in) {
#if defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030D0000
    struct _gil_runtime_state *gil = in->state->ceval.gil;
    return gil != NULL && _Py_atomic_load_int_relaxed(&gil->enabled) == INT_MAX;
#else
    (void)in;
    return 1;
#endif
}

int pyh_gil_notice(pyh_interp *in) {
    if (__atomic_load_n(&in->gil_noticed, __ATOMIC_RELAXED) || !pyh_gil_on(in)) return 0;
    int expected = 0;
    return __atomic_compare_exchange_n(&in->gil_noticed, &expected, 1, 0, __ATOMIC_RELAXED,
                                       __ATOMIC_RELAXED);
}
