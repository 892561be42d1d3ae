/* gil_probe.c — is an interpreter's GIL held right now?
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
