/* request_state.c — a request's C state: its lifetime (reference counts), its lock, and the
 * one callback that writes the response (pyhostSend).
 *
 * pyh_serve's thread holds one reference; every StartResponse and BodyReader holds one more.
 * The state is freed by whoever drops the last reference: usually pyh_serve itself, which then
 * keeps it as its OS thread's spare for the next request, so the hot path allocates nothing.
 * When an app thread still holds an object at the end, the state outlives the request, marked
 * finished, and is freed when the app lets go of the object. */
#include "pyh.h"
#include "_cgo_export.h"

/* A request thread's recycled state: malloc and pthread_mutex_init once per OS thread. */
static __thread pyh_req *spare;

/* Its address names the calling thread (cheaper than pthread_self, and a plain integer). */
static __thread char this_thread;
#define SELF ((uintptr_t)&this_thread)

pyh_req *pyh_req_begin(pyh_interp *in, uintptr_t handle, int has_body) {
    pyh_req *r = spare;
    if (r != NULL) {
        spare = NULL;
    } else {
        r = malloc(sizeof *r);
        if (r == NULL) return NULL;
        pthread_mutex_init(&r->lock, NULL);
    }
    r->in = in;
    r->handle = handle;
    __atomic_store_n(&r->refs, 1, __ATOMIC_RELAXED);
    r->lock_owner = 0;
    r->finished = 0;
    r->has_body = has_body;
    r->started = r->headers_sent = r->client_gone = r->cut_off = 0;
    r->head = NULL;
    r->head_len = r->head_cap = 0;
    r->head_owned = 0;
    r->body = NULL;
    r->body_len = r->body_cap = 0;
    r->body_owned = 0;
    pyh_applog_begin(r); /* wsgi.errors lines written on this thread carry r's request id */
    return r;
}

static void destroy(pyh_req *r) {
    /* pyh_serve gave away or freed every buffer when it finished. */
    pthread_mutex_destroy(&r->lock);
    free(r);
}

void pyh_req_incref(pyh_req *r) { __atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED); }

void pyh_req_decref(pyh_req *r) {
    /* Release: this thread's last use of r happens before the free (or the reuse). */
    if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0) destroy(r);
}

void pyh_req_end(pyh_req *r) {
    pyh_applog_end(r);
    if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) != 0) return; /* an app object's now */
    if (spare == NULL) spare = r;
    else destroy(r);
}

int pyh_req_sole_owner(pyh_req *r) { return __atomic_load_n(&r->refs, __ATOMIC_ACQUIRE) == 1; }

int pyh_req_trylock(pyh_req *r) {
    if (pthread_mutex_trylock(&r->lock) != 0) return 0;
    __atomic_store_n(&r->lock_owner, SELF, __ATOMIC_RELAXED);
    return 1;
}

int pyh_req_lock(pyh_req *r) {
    if (pyh_req_trylock(r)) return 0;
    if (__atomic_load_n(&r->lock_owner, __ATOMIC_RELAXED) == SELF) {
        /* Only Python code that pyhost runs while it holds the lock (a finaliser triggered by a
         * decref, say) gets here; waiting would hang this thread for ever. */
        PyErr_SetString(PyExc_RuntimeError,
                        "start_response(), write() or wsgi.input used from a finaliser that ran "
                        "while pyhost was working on the same request; use them from the app or "
                        "a thread of the app instead");
        return -1;
    }
    /* Contended: the holder may be in Go for a while (a slow client), and may need the GIL
     * back before it can let go; wait with the thread state detached. */
    Py_BEGIN_ALLOW_THREADS
    pthread_mutex_lock(&r->lock);
    Py_END_ALLOW_THREADS
    __atomic_store_n(&r->lock_owner, SELF, __ATOMIC_RELAXED);
    return 0;
}

void pyh_req_unlock(pyh_req *r) {
    __atomic_store_n(&r->lock_owner, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&r->lock);
}

/* The exception for a request that passed its deadline: the server answered 504 meanwhile. */
int pyh_req_cut_off_error(pyh_req *r) {
    PyErr_SetString(r->in->request_timeout_type,
                    "the request passed --request-timeout and the server answered 504; its "
                    "response can no longer be written nor its body read");
    return -1;
}

int pyh_req_late(pyh_req *r, const char *message) {
    if (r->cut_off && !r->finished) return pyh_req_cut_off_error(r);
    if (!r->finished) return 0;
    PyErr_SetString(PyExc_RuntimeError, message);
    return -1;
}

int pyh_req_send(pyh_req *r, const char *data, size_t n) {
    if (pyh_refuse_in_forked_child() < 0) return -1;
    if (r->cut_off) return pyh_req_cut_off_error(r); /* Go's response writer answered 504 already */
    const char *head = r->headers_sent ? NULL : r->head;
    size_t head_len = r->headers_sent ? 0 : r->head_len;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = pyhostSend(r->handle, (char *)head, head_len, (char *)data, n);
    Py_END_ALLOW_THREADS
    r->headers_sent = 1;
    if (rc < 0) {
        r->client_gone = 1;
        PyErr_SetString(PyExc_OSError, "client disconnected while the response was written");
        return -1;
    }
    return 0;
}

static void req_object_dealloc(PyObject *self) {
    pyh_req *r = ((pyh_req_object *)self)->req;
    pyh_heap_dealloc(self);
    pyh_req_decref(r);
}

PyTypeObject *pyh_req_object_type(PyObject *module, const char *name, PyMethodDef *methods,
                                  ternaryfunc call) {
    /* The spec and its slots are read, not kept, by PyType_FromModuleAndSpec; name and
     * methods are static. */
    PyType_Slot slots[4];
    int n = 0;
    if (call != NULL) slots[n++] = (PyType_Slot){Py_tp_call, (void *)call};
    slots[n++] = (PyType_Slot){Py_tp_methods, methods};
    slots[n++] = (PyType_Slot){Py_tp_dealloc, (void *)req_object_dealloc};
    slots[n] = (PyType_Slot){0, NULL};
    PyType_Spec spec = {
        .name = name,
        .basicsize = sizeof(pyh_req_object),
        .flags = Py_TPFLAGS_DEFAULT,
        .slots = slots,
    };
    return (PyTypeObject *)PyType_FromModuleAndSpec(module, &spec, NULL);
}

PyObject *pyh_req_object_new(PyObject *type, pyh_req *req) {
    pyh_req_object *o = PyObject_New(pyh_req_object, (PyTypeObject *)type);
    if (o == NULL) return NULL;
    pyh_req_incref(req);
    o->req = req;
    return (PyObject *)o;
}
