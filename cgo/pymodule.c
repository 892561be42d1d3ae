/* pymodule.c — the `pyhost` module every interpreter pyhost serves from gets in sys.modules:
 * the native parts (request_id(), the process-wide request counters, the event switch) and
 * the hooks that deliver a request's events. Its Python part is pymodule.py.
 *
 * Cost: nothing is counted or timed until an app asks for metrics or subscribes to events.
 * Until then a request pays the load and branch of pyh_obs_begin (pymodule.h) and the two
 * thread-local stores of pyh_current_set/clear; from then on, two clock reads and a few
 * atomic adds, and the events' Python calls in the interpreters that subscribed. The figures
 * all come from inside the request's one C call: no crossing into Go is added. */
#include "pymodule.h"
#include <string.h>
#include <time.h>

int pyh_observed[PYH_MAX_INTERPS];
__thread pyh_interp *pyh_current_interp;
__thread PyObject *pyh_current_environ;

/* pymodule.py's event functions, per interpreter (strong references, kept for the life of the
 * interpreter like the module itself). */
typedef struct {
    PyObject *started, *finished, *exception, *stopping;
} emitters;
static emitters emit[PYH_MAX_INTERPS];

/* Process-wide counts of the requests that started after recording began (atomics). */
static struct {
    int64_t requests, busy_ns, gil_wait_ns, exceptions, active;
} totals;
static pthread_mutex_t recording_lock = PTHREAD_MUTEX_INITIALIZER;
static int recording;
static double recording_since; /* wall clock, seconds; written once, before `recording` */
static double process_start;   /* wall clock when the first interpreter was set up */

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double wall_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define ADD(field, n) __atomic_add_fetch(&totals.field, (n), __ATOMIC_RELAXED)
#define LOAD(field) __atomic_load_n(&totals.field, __ATOMIC_RELAXED)

static const char capsule_name[] = "pyhost.interp";

static pyh_interp *self_interp(PyObject *self) {
    return PyCapsule_GetPointer(self, capsule_name);
}

/* pyhost.request_id(): the id of the request this thread serves, or None. */
static PyObject *mod_request_id(PyObject *self, PyObject *unused) {
    pyh_interp *in = self_interp(self);
    if (in == NULL) return NULL;
    if (pyh_current_interp != in || pyh_current_environ == NULL) Py_RETURN_NONE;
    PyObject *id;
#if PY_VERSION_HEX >= 0x030D0000
    if (PyDict_GetItemRef(pyh_current_environ, in->keys[PYH_K_REQUEST_ID], &id) < 0)
        return NULL;
#else
    id = PyDict_GetItemWithError(pyh_current_environ, in->keys[PYH_K_REQUEST_ID]);
    if (id == NULL && PyErr_Occurred()) return NULL;
    Py_XINCREF(id);
#endif
    if (id == NULL) Py_RETURN_NONE; /* the app deleted it from its environ */
    return id;
}

/* From now on every interpreter's requests are counted (once; any thread). */
static void start_recording(void) {
    if (__atomic_load_n(&recording, __ATOMIC_ACQUIRE)) return;
    pthread_mutex_lock(&recording_lock);
    if (!recording) {
        recording_since = wall_now();
        __atomic_store_n(&recording, 1, __ATOMIC_RELEASE);
        for (int i = 0; i < PYH_MAX_INTERPS; i++)
            __atomic_or_fetch(&pyh_observed[i], PYH_OBSERVE_METRICS, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&recording_lock);
}

/* _counters(): (recording_since, requests, busy_ns, gil_wait_ns, exceptions, active), the
 * first call starting the recording. The figures are read one by one, not as one snapshot:
 * a request ending meanwhile may show in one and not yet in another. */
static PyObject *mod_counters(PyObject *self, PyObject *unused) {
    start_recording();
    return Py_BuildValue("(dLLLLL)", recording_since, (long long)LOAD(requests),
                         (long long)LOAD(busy_ns), (long long)LOAD(gil_wait_ns),
                         (long long)LOAD(exceptions), (long long)LOAD(active));
}

/* _set_events(on): whether this interpreter's requests deliver events. */
static PyObject *mod_set_events(PyObject *self, PyObject *on) {
    pyh_interp *in = self_interp(self);
    if (in == NULL) return NULL;
    int flag = PyObject_IsTrue(on);
    if (flag < 0) return NULL;
    if (flag) __atomic_or_fetch(&pyh_observed[in->index], PYH_OBSERVE_EVENTS, __ATOMIC_RELAXED);
    else __atomic_and_fetch(&pyh_observed[in->index], ~PYH_OBSERVE_EVENTS, __ATOMIC_RELAXED);
    Py_RETURN_NONE;
}

static PyMethodDef native[] = {
    {"request_id", mod_request_id, METH_NOARGS,
     "request_id()\n--\n\nThe id of the request this thread is serving (the environ's "
     "pyhost.request_id), or None outside a request thread."},
    {"_counters", mod_counters, METH_NOARGS, NULL},
    {"_set_events", mod_set_events, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

void pyh_obs_start(pyh_interp *in, pyh_obs *o) {
    o->start_ns = mono_ns();
    o->request_id = NULL;
    o->status = o->headers_sent = o->raised = 0;
    if (o->flags & PYH_OBSERVE_METRICS) ADD(active, 1);
}

/* Logs an exception pyhost's own event code let through; the request goes on. */
static void drop_error(PyObject *where) {
    PyErr_WriteUnraisable(where);
}

int pyh_obs_started(pyh_interp *in, pyh_obs *o, PyObject *environ) {
    if (!(o->flags & PYH_OBSERVE_EVENTS)) return 0;
    PyObject *id;
#if PY_VERSION_HEX >= 0x030D0000
    if (PyDict_GetItemRef(environ, in->keys[PYH_K_REQUEST_ID], &id) < 0) return -1;
#else
    id = PyDict_GetItemWithError(environ, in->keys[PYH_K_REQUEST_ID]);
    if (id == NULL && PyErr_Occurred()) return -1;
    Py_XINCREF(id);
#endif
    o->request_id = id != NULL ? id : Py_NewRef(Py_None);
    PyObject *res = PyObject_CallFunctionObjArgs(emit[in->index].started, o->request_id,
                                                 environ, NULL);
    /* pymodule.py lets only the request's RequestTimeout (its deadline passed while a callback
     * ran) through: the request then ends as if the app had raised it. */
    if (res == NULL) return -1;
    Py_DECREF(res);
    return 0;
}

/* The status code at the start of a packed head ("200 OK\0..."), 0 if there is none. */
static int head_status(const char *head, size_t len) {
    if (head == NULL || len < 3) return 0;
    int code = 0;
    for (int i = 0; i < 3; i++) {
        if (head[i] < '0' || head[i] > '9') return 0;
        code = code * 10 + (head[i] - '0');
    }
    return code;
}

void pyh_obs_ending(pyh_interp *in, pyh_obs *o, pyh_req *r, PyObject *error) {
    /* As in finish(): the app's threads may still reach r unless nothing else points at it. */
    int locked = !pyh_req_sole_owner(r);
    if (locked) pyh_req_lock(r); /* cannot fail: this thread never holds it here */
    if (r->started) o->status = head_status(r->head, r->head_len);
    o->headers_sent = r->headers_sent;
    int client_gone = r->client_gone;
    if (locked) pyh_req_unlock(r);
    o->raised = error != NULL;
    /* An OSError that only says the client left is no error of the app's. */
    if (!(o->flags & PYH_OBSERVE_EVENTS) || error == NULL || client_gone) return;
    PyObject *id = o->request_id ? o->request_id : Py_None;
    PyObject *res = PyObject_CallFunctionObjArgs(emit[in->index].exception, id, error, NULL);
    if (res == NULL) drop_error(emit[in->index].exception);
    Py_XDECREF(res);
}

static const char *outcome_name(int outcome) {
    switch (outcome) {
    case PYH_RESPOND:
    case PYH_STREAMED: return "ok";
    case PYH_FAILED: return "exception";
    case PYH_TIMED_OUT: return "timeout";
    default: return "aborted";
    }
}

/* The status the client got (or will get from Go), 0 for none (a dropped connection). */
static int final_status(const pyh_obs *o, int outcome) {
    switch (outcome) {
    case PYH_FAILED: return 500;    /* Go answers 500 */
    case PYH_TIMED_OUT: return 504; /* Go answered 504 at the deadline */
    case PYH_ABORTED: return o->headers_sent ? o->status : 0;
    default: return o->status;
    }
}

void pyh_obs_end(pyh_interp *in, pyh_obs *o, const pyh_result *out) {
    int64_t duration = mono_ns() - o->start_ns;
    if (o->flags & PYH_OBSERVE_METRICS) {
        ADD(requests, 1);
        ADD(busy_ns, duration);
        ADD(gil_wait_ns, out->gil_wait_ns);
        if (o->raised) ADD(exceptions, 1);
        ADD(active, -1);
    }
    if (o->flags & PYH_OBSERVE_EVENTS) {
        int code = final_status(o, out->outcome);
        PyObject *status = code ? PyLong_FromLong(code) : Py_NewRef(Py_None);
        PyObject *res = status == NULL ? NULL
            : PyObject_CallFunction(emit[in->index].finished, "OdOds",
                                    o->request_id ? o->request_id : Py_None, duration / 1e9,
                                    status, out->gil_wait_ns / 1e9, outcome_name(out->outcome));
        if (res == NULL) drop_error(emit[in->index].finished);
        Py_XDECREF(res);
        Py_XDECREF(status);
        Py_CLEAR(o->request_id);
        pyh_exit_if_forked_child(NULL); /* a callback forked: the child never returns into Go */
    }
}

int pyh_pymodule_stopping(pyh_interp *in, const char *reason, const char *detail) {
    if (!(__atomic_load_n(&pyh_observed[in->index], __ATOMIC_RELAXED) & PYH_OBSERVE_EVENTS))
        return 0;
    PyObject *res = PyObject_CallFunction(emit[in->index].stopping, "ss", reason, detail);
    if (res == NULL) drop_error(emit[in->index].stopping);
    Py_XDECREF(res);
    pyh_exit_if_forked_child(NULL);
    return 1;
}

/* Sets d[name] to value, which it consumes (NULL: the error is set). */
static int put(PyObject *d, const char *name, PyObject *value) {
    if (value == NULL) return -1;
    int rc = PyDict_SetItemString(d, name, value);
    Py_DECREF(value);
    return rc;
}

static PyObject *take_emitter(PyObject *d, const char *name) {
    PyObject *f = PyDict_GetItemString(d, name); /* borrowed */
    if (f == NULL) {
        PyErr_Format(PyExc_SystemError, "pyhost's module source defines no %s", name);
        return NULL;
    }
    return Py_NewRef(f);
}

int pyh_pymodule_setup(pyh_interp *in, const char *src, const pyh_process_facts *facts,
                       char **err) {
    PyObject *capsule = NULL, *code = NULL, *res = NULL;
    /* Interpreters are set up one at a time, on the runtime's main thread. */
    if (process_start == 0) process_start = wall_now();
    /* Registered in sys.modules before the app runs, so `import pyhost` finds it there and
     * never looks on sys.path (where pyhost's own source folder may be). */
    PyObject *mod = PyImport_AddModule("pyhost"); /* borrowed */
    if (mod == NULL) goto fail;
    PyObject *d = PyModule_GetDict(mod); /* borrowed */
    if (PyDict_SetItemString(d, "__builtins__", PyEval_GetBuiltins()) < 0) goto fail;
    capsule = PyCapsule_New(in, capsule_name, NULL);
    if (capsule == NULL) goto fail;
    PyObject *modname = PyModule_GetNameObject(mod);
    if (modname == NULL) goto fail;
    for (PyMethodDef *def = native; def->ml_name != NULL; def++) {
        if (put(d, def->ml_name, PyCFunction_NewEx(def, capsule, modname)) < 0) {
            Py_DECREF(modname);
            goto fail;
        }
    }
    Py_DECREF(modname);
    if (put(d, "process_group", PyUnicode_FromString(facts->process_group)) < 0 ||
        put(d, "application_group", PyUnicode_FromString(facts->application_group)) < 0 ||
        put(d, "gil_mode", PyUnicode_FromString(facts->gil_mode)) < 0 ||
        put(d, "maximum_processes", PyLong_FromLong(facts->maximum_processes)) < 0 ||
        put(d, "threads_per_process", PyLong_FromLong(facts->threads_per_process)) < 0 ||
        put(d, "_process_start", PyFloat_FromDouble(process_start)) < 0)
        goto fail;
    code = Py_CompileString(src, "<pyhost module>", Py_file_input);
    if (code == NULL) goto fail;
    res = PyEval_EvalCode(code, d, d);
    if (res == NULL) goto fail;
    emitters *e = &emit[in->index];
    if (!(e->started = take_emitter(d, "_emit_started")) ||
        !(e->finished = take_emitter(d, "_emit_finished")) ||
        !(e->exception = take_emitter(d, "_emit_exception")) ||
        !(e->stopping = take_emitter(d, "_emit_stopping")))
        goto fail;
    Py_DECREF(capsule);
    Py_DECREF(code);
    Py_DECREF(res);
    return 0;
fail:
    *err = pyh_take_error(in);
    Py_XDECREF(capsule);
    Py_XDECREF(code);
    Py_XDECREF(res);
    return -1;
}
