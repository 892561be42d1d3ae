/* start_response.c — the start_response callable and its write(), with PEP 3333's checks on
 * status and headers done at call time so the app sees a bad header as an exception. */
#include "pyh.h"
#include "_cgo_export.h"
#include <string.h>
#include <strings.h>

int pyh_buf_append(char **buf, size_t *len, size_t *cap, int *owned, const char *data,
                   size_t n) {
    if (*len + n > *cap) {
        size_t ncap = *cap ? *cap * 2 : 4096;
        while (ncap < *len + n) ncap *= 2;
        char *nb = *owned ? realloc(*buf, ncap) : malloc(ncap);
        if (nb == NULL) return -1;
        if (!*owned && *len) memcpy(nb, *buf, *len);
        *buf = nb;
        *cap = ncap;
        *owned = 1;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    return 0;
}

static const char *const hop_by_hop[] = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade", NULL,
};

static int is_token_char(unsigned char c) {
    if (c >= '0' && c <= '9') return 1;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return 1;
    return strchr("!#$%&'*+-.^_`|~", c) != NULL && c != 0;
}

/* Returns the latin-1 bytes of a str, or NULL with an exception naming `what`. */
static const char *latin1_of(PyObject *s, Py_ssize_t *n, const char *what) {
    if (!PyUnicode_Check(s)) {
        PyErr_Format(PyExc_TypeError, "%s must be str, not %.100s", what, Py_TYPE(s)->tp_name);
        return NULL;
    }
    if (PyUnicode_KIND(s) != PyUnicode_1BYTE_KIND) {
        PyErr_Format(PyExc_ValueError, "%s %R is not latin-1: encode it (PEP 3333)", what, s);
        return NULL;
    }
    *n = PyUnicode_GET_LENGTH(s);
    return (const char *)PyUnicode_1BYTE_DATA(s);
}

/* A response's Content-Length frames it: the value must be 1*DIGIT (RFC 9110 §8.6) and a
 * response has one. Anything else would go out as written: a "+5" or two differing lengths
 * let a lenient proxy split the response in two (and the Go side, which parses it strictly,
 * would frame the body by another length than the one sent). 18 digits at most: a longer one
 * is no real length and would overflow an int64. Returns 0, or -1 with an exception naming
 * the header. */
static int check_content_length(PyObject *name, PyObject *value_obj, const char *value,
                                Py_ssize_t vn, int *seen) {
    if ((*seen)++) {
        PyErr_Format(PyExc_ValueError, "more than one Content-Length response header (%R); "
                     "a response has one length: send one %R header", name, name);
        return -1;
    }
    int ok = vn > 0 && vn <= 18;
    for (Py_ssize_t i = 0; ok && i < vn; i++) ok = value[i] >= '0' && value[i] <= '9';
    if (!ok) {
        PyErr_Format(PyExc_ValueError, "response header %R: value %R is not a length (only "
                     "decimal digits, like '42', and at most 18 of them)", name, value_obj);
        return -1;
    }
    return 0;
}

/* Checks status and headers (PEP 3333's rules) and returns the size of their packed form, or
 * -1 with an exception. headers is a list or tuple; on success no Python code has run. */
static Py_ssize_t head_size(PyObject *status, PyObject *headers) {
    Py_ssize_t n;
    const char *st = latin1_of(status, &n, "status");
    if (st == NULL) return -1;
    if (n < 4 || st[3] != ' ' || st[0] < '1' || st[0] > '9' || st[1] < '0' || st[1] > '9' ||
        st[2] < '0' || st[2] > '9') {
        PyErr_Format(PyExc_ValueError,
                     "status %R must be a 3-digit code, a space and a reason, like '200 OK'",
                     status);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = st[i];
        if (c < 0x20 || c == 0x7f) {
            PyErr_Format(PyExc_ValueError, "status %R contains a control character", status);
            return -1;
        }
    }
    if (st[0] == '1') {
        /* 1xx answers are interim; a 101 would tell the client the connection switched
         * protocols while it goes on speaking HTTP. Only the server may send them. */
        PyErr_Format(PyExc_ValueError, "status %R is informational (1xx): a WSGI response's "
                     "status is final (2xx to 5xx); a WSGI application cannot switch protocols "
                     "or send interim answers", status);
        return -1;
    }
    Py_ssize_t size = n + 1;
    int lengths = 0; /* Content-Length headers seen */
    Py_ssize_t count = PySequence_Fast_GET_SIZE(headers);
    PyObject **items = PySequence_Fast_ITEMS(headers);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *h = items[i];
        if (!PyTuple_Check(h) || PyTuple_GET_SIZE(h) != 2) {
            PyErr_Format(PyExc_TypeError, "response header %R must be a (name, value) tuple", h);
            return -1;
        }
        Py_ssize_t nn, vn;
        const char *name = latin1_of(PyTuple_GET_ITEM(h, 0), &nn, "header name");
        if (name == NULL) return -1;
        const char *value = latin1_of(PyTuple_GET_ITEM(h, 1), &vn, "header value");
        if (value == NULL) return -1;
        if (nn == 0) {
            PyErr_SetString(PyExc_ValueError, "empty response header name");
            return -1;
        }
        for (Py_ssize_t j = 0; j < nn; j++) {
            if (!is_token_char((unsigned char)name[j])) {
                PyErr_Format(PyExc_ValueError, "response header name %R has an invalid "
                             "character", PyTuple_GET_ITEM(h, 0));
                return -1;
            }
        }
        for (Py_ssize_t j = 0; j < vn; j++) {
            unsigned char c = value[j];
            if ((c < 0x20 && c != '\t') || c == 0x7f) {
                PyErr_Format(PyExc_ValueError, "response header %R: value contains a control "
                             "character (CR/LF injection?)", PyTuple_GET_ITEM(h, 0));
                return -1;
            }
        }
        if (nn == 14 && strncasecmp(name, "content-length", 14) == 0 &&
            check_content_length(PyTuple_GET_ITEM(h, 0), PyTuple_GET_ITEM(h, 1), value, vn,
                                 &lengths) < 0) {
            return -1;
        }
        for (const char *const *hop = hop_by_hop; *hop; hop++) {
            if ((size_t)nn == strlen(*hop) && strncasecmp(name, *hop, nn) == 0) {
                PyErr_Format(PyExc_ValueError, "hop-by-hop header %R is not allowed from a WSGI "
                             "application (PEP 3333); the server manages the connection",
                             PyTuple_GET_ITEM(h, 0));
                return -1;
            }
        }
        size += nn + 1 + vn + 1;
    }
    return size;
}

/* Copies one latin-1 str, NUL included, if it fits and is what head_size saw. */
static char *put_str(char *p, const char *end, PyObject *s) {
    if (p == NULL || !PyUnicode_Check(s) || PyUnicode_KIND(s) != PyUnicode_1BYTE_KIND) return NULL;
    size_t n = (size_t)PyUnicode_GET_LENGTH(s) + 1; /* a str's data is NUL-terminated */
    if (n > (size_t)(end - p)) return NULL;
    memcpy(p, PyUnicode_1BYTE_DATA(s), n);
    return p + n;
}

/* Writes the packed head into r's head buffer, growing it to size. Called with r's lock held
 * (Go may be reading the buffer otherwise) and runs no Python code. 0 ok; -1 out of memory;
 * -2 the headers are not what head_size measured (the caller raises once unlocked). */
static int head_copy(pyh_req *r, PyObject *status, PyObject *headers, size_t size) {
    if (size > r->head_cap) {
        size_t cap = r->head_cap ? r->head_cap * 2 : 4096;
        while (cap < size) cap *= 2;
        char *grown = malloc(cap);
        if (grown == NULL) return -1;
        if (r->head_owned) free(r->head);
        r->head = grown;
        r->head_cap = cap;
        r->head_owned = 1;
    }
    char *p = r->head, *end = r->head + size;
    p = put_str(p, end, status);
    Py_ssize_t count = PySequence_Fast_GET_SIZE(headers);
    PyObject **items = PySequence_Fast_ITEMS(headers);
    for (Py_ssize_t i = 0; i < count && p != NULL; i++) {
        PyObject *h = items[i];
        if (!PyTuple_Check(h) || PyTuple_GET_SIZE(h) != 2) return -2;
        p = put_str(put_str(p, end, PyTuple_GET_ITEM(h, 0)), end, PyTuple_GET_ITEM(h, 1));
    }
    if (p != end) return -2;
    r->head_len = size;
    return 0;
}

/* Re-raises the app's exception from exc_info (PEP 3333: too late to change the response). */
static PyObject *reraise(PyObject *exc_info) {
    if (!PyTuple_Check(exc_info) || PyTuple_GET_SIZE(exc_info) != 3) {
        PyErr_SetString(PyExc_TypeError, "exc_info must be a 3-tuple from sys.exc_info()");
        return NULL;
    }
    PyObject *value = PyTuple_GET_ITEM(exc_info, 1);
    if (!PyExceptionInstance_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "exc_info[1] is not an exception");
        return NULL;
    }
    PyObject *tb = PyTuple_GET_ITEM(exc_info, 2);
    if (tb != Py_None) PyException_SetTraceback(value, tb);
    pyh_restore_exception(Py_NewRef(value));
    return NULL;
}

static PyObject *sr_call(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *kwlist[] = {"status", "headers", "exc_info", NULL};
    PyObject *status, *headers, *exc_info = Py_None;
    pyh_req *r = ((pyh_req_object *)self)->req;
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    if (kwargs == NULL && (nargs == 2 || nargs == 3)) { /* the usual call, parsed by hand */
        status = PyTuple_GET_ITEM(args, 0);
        headers = PyTuple_GET_ITEM(args, 1);
        if (nargs == 3) exc_info = PyTuple_GET_ITEM(args, 2);
    } else if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|O:start_response", kwlist,
                                            &status, &headers, &exc_info)) {
        return NULL;
    }
    if (pyh_refuse_in_forked_child() < 0) return NULL;
    if (!PyList_Check(headers) && !PyTuple_Check(headers)) {
        PyErr_Format(PyExc_TypeError, "response headers must be a list of (name, value) tuples, "
                     "not %.100s", Py_TYPE(headers)->tp_name);
        return NULL;
    }
    /* The headers are checked and measured first, with no lock held (errors format the app's
     * objects, which may run its code), then copied under the lock. A list must not change in
     * between: with the GIL nothing else runs unless this thread waits for the lock, so it is
     * snapshotted as a tuple only then; free-threaded, other threads run at any time. */
#ifdef Py_GIL_DISABLED
    PyObject *snapshot = PySequence_Tuple(headers);
    if (snapshot == NULL) return NULL;
#else
    PyObject *snapshot = Py_NewRef(headers);
#endif
    Py_ssize_t size = head_size(status, snapshot);
    if (size < 0) goto fail;
    if (!pyh_req_trylock(r)) {
        if (!PyTuple_Check(snapshot)) {
            Py_SETREF(snapshot, PySequence_Tuple(snapshot));
            if (snapshot == NULL) return NULL;
            size = head_size(status, snapshot);
            if (size < 0) goto fail;
        }
        if (pyh_req_lock(r) < 0) goto fail;
    }
    enum { PACKED, LATE, CUT_OFF, AGAIN, RERAISE, NO_MEMORY, CHANGED } verdict = PACKED;
    if (r->finished) {
        verdict = LATE;
    } else if (r->cut_off) {
        verdict = CUT_OFF;
    } else if (exc_info != Py_None) {
        if (r->headers_sent) verdict = RERAISE;
    } else if (r->started) {
        verdict = AGAIN;
    }
    if (verdict == PACKED) {
        int rc = head_copy(r, status, snapshot, (size_t)size);
        /* A failed copy may have overwritten the head: no body may go out with it. */
        r->started = rc == 0;
        if (rc < 0) verdict = rc == -1 ? NO_MEMORY : CHANGED;
    }
    pyh_req_unlock(r);
    Py_DECREF(snapshot);
    switch (verdict) {
    case PACKED:
        return PyObject_GetAttr(self, r->in->str_write);
    case LATE:
        PyErr_SetString(PyExc_RuntimeError, "start_response() called after the request ended; "
                        "the response is complete");
        return NULL;
    case CUT_OFF:
        pyh_req_cut_off_error(r);
        return NULL;
    case AGAIN:
        PyErr_SetString(PyExc_RuntimeError,
                        "start_response() called a second time without exc_info (PEP 3333)");
        return NULL;
    case RERAISE:
        return reraise(exc_info);
    case NO_MEMORY:
        return PyErr_NoMemory();
    case CHANGED:
        PyErr_SetString(PyExc_RuntimeError,
                        "the response headers changed while start_response() read them");
        return NULL;
    }
    return NULL;
fail:
    Py_XDECREF(snapshot);
    return NULL;
}

static PyObject *sr_write(PyObject *self, PyObject *data) {
    pyh_req *r = ((pyh_req_object *)self)->req;
    if (!PyBytes_Check(data)) {
        PyErr_Format(PyExc_TypeError, "write() takes bytes, not %.100s", Py_TYPE(data)->tp_name);
        return NULL;
    }
    if (pyh_refuse_in_forked_child() < 0 || pyh_req_lock(r) < 0) return NULL;
    int rc = pyh_req_late(r, "write() called after the request ended; the response is complete");
    if (rc == 0 && !r->started) {
        PyErr_SetString(PyExc_RuntimeError, "write() called before start_response()");
        rc = -1;
    }
    if (rc == 0) rc = pyh_req_send(r, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data));
    pyh_req_unlock(r);
    if (rc < 0) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef sr_methods[] = {
    {"write", sr_write, METH_O, "Write bytes to the response (PEP 3333's write callable)."},
    {NULL, NULL, 0, NULL},
};

PyTypeObject *pyh_start_response_spec_type(PyObject *module) {
    return pyh_req_object_type(module, "_pyhost.StartResponse", sr_methods, sr_call);
}
