/* body_reader.c — the raw side of wsgi.input: readinto() asks Go for request-body bytes with
 * the thread state detached. The bootstrap wraps it in io.BufferedReader, which supplies
 * read(n), read(), readline(n), readlines() and iteration with CPython's own semantics. */
#include "pyh.h"
#include "_cgo_export.h"

typedef struct {
    PyObject_HEAD
    pyh_req *req; /* NULL once the request is over: reads then see end-of-body */
} BodyReader;

static PyObject *br_readinto(PyObject *self, PyObject *arg) {
    pyh_req *r = ((BodyReader *)self)->req;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_WRITABLE) < 0) return NULL;
    int64_t n = 0;
    if (r != NULL && r->has_body && view.len > 0) {
        uintptr_t h = r->handle;
        Py_BEGIN_ALLOW_THREADS
        pthread_mutex_lock(&r->io_lock);
        n = pyhostRead(h, view.buf, (size_t)view.len);
        pthread_mutex_unlock(&r->io_lock);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&view);
    if (n < 0) {
        r->client_gone = 1;
        PyErr_SetString(PyExc_OSError, "client disconnected while the request body was read");
        return NULL;
    }
    if (n == 0 && r != NULL) r->has_body = 0; /* end of body: later reads need not cross */
    return PyLong_FromLongLong(n);
}

static PyMethodDef br_methods[] = {
    {"readinto", br_readinto, METH_O, "Read request-body bytes into a writable buffer."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot br_slots[] = {
    {Py_tp_methods, br_methods},
    {Py_tp_dealloc, pyh_heap_dealloc},
    {0, NULL},
};

static PyType_Spec br_spec = {
    .name = "_pyhost.BodyReader",
    .basicsize = sizeof(BodyReader),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = br_slots,
};

PyTypeObject *pyh_body_reader_spec_type(PyObject *module) {
    return (PyTypeObject *)PyType_FromModuleAndSpec(module, &br_spec, NULL);
}

PyObject *pyh_body_reader_new(pyh_interp *in, void *req) {
    BodyReader *br = PyObject_New(BodyReader, (PyTypeObject *)in->body_reader_type);
    if (br) br->req = req;
    return (PyObject *)br;
}

void pyh_body_reader_release(PyObject *br) {
    ((BodyReader *)br)->req = NULL;
    Py_DECREF(br);
}
