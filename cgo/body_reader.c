/* body_reader.c — the raw side of wsgi.input: readinto() asks Go for request-body bytes with
 * the thread state detached. The bootstrap wraps it in io.BufferedReader, which supplies
 * read(n), read(), readline(n), readlines() and iteration with CPython's own semantics. */
#include "pyh.h"
#include "_cgo_export.h"

static PyObject *br_readinto(PyObject *self, PyObject *arg) {
    pyh_req *r = ((pyh_req_object *)self)->req;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_WRITABLE) < 0) return NULL;
    int64_t n = 0;
    int rc = pyh_refuse_in_forked_child();
    if (rc == 0) rc = pyh_req_lock(r);
    if (rc == 0) {
        /* Go's request body (and the handle naming it) is the next request's once this one
         * ended: a late read raises rather than report a truncated body as complete. A body
         * already read to its end still reads as ended. */
        if (r->has_body)
            rc = pyh_req_late(r, "wsgi.input read after the request ended; read the request "
                              "body before the app returns (or copy it for the thread that "
                              "needs it)");
        if (rc == 0 && r->has_body && view.len > 0) {
            Py_BEGIN_ALLOW_THREADS
            n = pyhostRead(r->handle, view.buf, (size_t)view.len);
            Py_END_ALLOW_THREADS
            if (n < 0) {
                r->client_gone = 1;
                PyErr_SetString(PyExc_OSError,
                                "client disconnected while the request body was read");
                rc = -1;
            } else if (n == 0) {
                r->has_body = 0; /* end of body: later reads need not cross */
            }
        }
        pyh_req_unlock(r);
    }
    PyBuffer_Release(&view);
    if (rc < 0) return NULL;
    return PyLong_FromLongLong(n);
}

static PyMethodDef br_methods[] = {
    {"readinto", br_readinto, METH_O, "Read request-body bytes into a writable buffer."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject *pyh_body_reader_spec_type(PyObject *module) {
    return pyh_req_object_type(module, "_pyhost.BodyReader", br_methods, NULL);
}
