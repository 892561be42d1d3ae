/* pymodule.h — the `pyhost` module apps import (pymodule.c, pymodule.py), and the few hooks
 * a request's one C call (request.c) makes for it.
 *
 * The hot path pays one load of pyh_observed[in->index] and one branch when nobody recorded
 * metrics nor subscribed to events, plus two thread-local stores that let request_id() find
 * the request its thread serves. Everything else happens only while someone observes. */
#ifndef PYH_PYMODULE_H
#define PYH_PYMODULE_H

#include "pyh.h"

/* pyh_observed[in->index]: what is observed in that interpreter's requests. */
enum {
    PYH_OBSERVE_EVENTS = 1, /* the interpreter's app subscribed to events */
    PYH_OBSERVE_METRICS = 2 /* process_metrics() or request_metrics() was called (any interp) */
};
extern int pyh_observed[PYH_MAX_INTERPS];

/* The request a request thread is serving, for request_id(): set once its environ exists,
 * cleared before that environ is released. Other threads (the app's own) see NULL. */
extern __thread pyh_interp *pyh_current_interp;
extern __thread PyObject *pyh_current_environ; /* borrowed: pyh_serve holds it */

/* One request as observed; lives on pyh_serve's stack. */
typedef struct {
    int flags;           /* pyh_observed at the start: decides every later hook */
    int64_t start_ns;    /* CLOCK_MONOTONIC, before the wait for the GIL */
    PyObject *request_id;
    int status;          /* the status line's code, 0 if none was set */
    int headers_sent;
    int raised;
} pyh_obs;

void pyh_obs_start(pyh_interp *in, pyh_obs *o);
int pyh_obs_started(pyh_interp *in, pyh_obs *o, PyObject *environ); /* -1: the request fails */
void pyh_obs_ending(pyh_interp *in, pyh_obs *o, pyh_req *r, PyObject *error);
void pyh_obs_end(pyh_interp *in, pyh_obs *o, const pyh_result *out);

/* Before the GIL is taken (no thread state attached). */
static inline void pyh_obs_begin(pyh_interp *in, pyh_obs *o) {
    o->flags = __atomic_load_n(&pyh_observed[in->index], __ATOMIC_RELAXED);
    if (o->flags) pyh_obs_start(in, o);
}

static inline void pyh_current_set(pyh_interp *in, PyObject *environ) {
    pyh_current_interp = in;
    pyh_current_environ = environ;
}

static inline void pyh_current_clear(void) {
    pyh_current_interp = NULL;
    pyh_current_environ = NULL;
}

/* Setup (attached, once per interpreter, after pyh_interp_setup): makes the `pyhost` module
 * from pymodule.py's source and registers it in sys.modules. */
int pyh_pymodule_setup(pyh_interp *in, const char *src, const pyh_process_facts *facts,
                       char **err);
static inline int pyh_pymodule_subscribed(pyh_interp *in) {
    return __atomic_load_n(&pyh_observed[in->index], __ATOMIC_RELAXED) & PYH_OBSERVE_EVENTS;
}
/* Delivers process_stopping in the interpreter (attached); 1 if it had subscribers. */
int pyh_pymodule_stopping(pyh_interp *in, const char *reason, const char *detail);

#endif
