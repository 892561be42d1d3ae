/* testhooks.c — entry points for pyhost's tests and fuzz targets only (the server never calls
 * them): the environ decoder and start_response's status and header checks, each reachable
 * in one C call without an HTTP request, so fuzzers can feed them millions of inputs.
 *
 * They drive the real code (pyh_build_environ, the real StartResponse type), attaching this
 * thread's state for the interpreter as pyh_serve does. */
#include "pyh.h"
#include <string.h>

static int append_u32(char **buf, size_t *len, size_t *cap, int *owned, size_t n) {
    unsigned char b[4] = {n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >> 24) & 0xff};
    return pyh_buf_append(buf, len, cap, owned, (const char *)b, 4);
}

/* Appends a str as a 4-byte length and its latin-1 bytes. -1 with an exception set. */
static int append_latin1(char **buf, size_t *len, size_t *cap, int *owned, PyObject *s) {
    PyObject *b = PyUnicode_AsLatin1String(s);
    if (b == NULL) return -1;
    size_t n = (size_t)PyBytes_GET_SIZE(b);
    int rc = append_u32(buf, len, cap, owned, n) < 0 ||
             pyh_buf_append(buf, len, cap, owned, PyBytes_AS_STRING(b), n) < 0;
    Py_DECREF(b);
    if (rc) PyErr_NoMemory();
    return rc ? -1 : 0;
}

/* Builds the environ from packed as a request would. On success: a malloc'd list of its str
 * items (4-byte length + latin-1 key, 4-byte length + latin-1 value, repeated), *out_len its
 * size and *size the dict's size (str items and the constant wsgi.* entries); on failure NULL
 * and *err, the exception's text. */
char *pyh_test_decode_environ(pyh_interp *in, const char *packed, size_t len, size_t *out_len,
                              Py_ssize_t *size, char **err) {
    char *out = NULL;
    size_t cap = 0;
    int owned = 0;
    *out_len = 0;
    pyh_attach(in, NULL);
    PyObject *env = pyh_build_environ(in, packed, len);
    if (env == NULL) goto fail;
    *size = PyDict_GET_SIZE(env);
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(env, &pos, &k, &v)) {
        if (!PyUnicode_Check(k) || !PyUnicode_Check(v)) continue;
        /* the template's own str entries (pyhost.process_group...) came from no buffer */
        if (PyDict_GetItemWithError(in->environ_template, k) == v) continue;
        if (append_latin1(&out, out_len, &cap, &owned, k) < 0 ||
            append_latin1(&out, out_len, &cap, &owned, v) < 0)
            goto fail;
    }
    Py_DECREF(env);
    pyh_detach();
    /* An environ of constant entries only still returns non-NULL. */
    return owned ? out : pyh_strdup("");
fail:
    Py_XDECREF(env);
    if (owned) free(out);
    *err = pyh_take_error(NULL); /* repr(exc): a traceback costs more than the call */
    pyh_detach();
    return NULL;
}

/* Reads fields packed by Go as 4-byte length + bytes into a str: latin-1, or UTF-8 with
 * errors replaced when utf8 is set (so fuzzers reach the "not latin-1" checks). */
static PyObject *next_str(const char **p, const char *end, int utf8) {
    if (end - *p < 4) {
        PyErr_SetString(PyExc_SystemError, "test hook: truncated field list");
        return NULL;
    }
    const unsigned char *b = (const unsigned char *)*p;
    size_t n = (size_t)b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16 | (size_t)b[3] << 24;
    *p += 4;
    if ((size_t)(end - *p) < n) {
        PyErr_SetString(PyExc_SystemError, "test hook: truncated field");
        return NULL;
    }
    const char *s = *p;
    *p += n;
    return utf8 ? PyUnicode_DecodeUTF8(s, n, "replace") : PyUnicode_DecodeLatin1(s, n, NULL);
}

/* Calls a real start_response with the status and (name, value) headers in fields (each a
 * 4-byte length + bytes, the status first). On success: the packed head start_response made
 * (malloc'd, *out_len bytes); on refusal NULL and *err, the exception's text. */
char *pyh_test_start_response(pyh_interp *in, const char *fields, size_t len, int nheaders,
                              int utf8, size_t *out_len, char **err) {
    const char *p = fields, *end = fields + len;
    PyObject *status = NULL, *headers = NULL, *sr = NULL, *res = NULL;
    pyh_req *r = pyh_req_begin(in, 0, 0);
    if (r == NULL) {
        *err = pyh_strdup("out of memory for a request's state");
        return NULL;
    }
    pyh_attach(in, NULL);
    if ((status = next_str(&p, end, utf8)) == NULL) goto fail;
    if ((headers = PyList_New(nheaders)) == NULL) goto fail;
    for (int i = 0; i < nheaders; i++) {
        PyObject *name = next_str(&p, end, utf8);
        PyObject *value = name ? next_str(&p, end, utf8) : NULL;
        PyObject *pair = value ? PyTuple_Pack(2, name, value) : NULL;
        Py_XDECREF(name);
        Py_XDECREF(value);
        if (pair == NULL) goto fail;
        PyList_SET_ITEM(headers, i, pair);
    }
    if ((sr = pyh_req_object_new(in->start_response_type, r)) == NULL) goto fail;
    PyObject *args[2] = {status, headers};
    if ((res = PyObject_Vectorcall(sr, args, 2, NULL)) == NULL) goto fail;
    Py_DECREF(res);
    Py_DECREF(sr);
    Py_DECREF(status);
    Py_DECREF(headers);
    pyh_detach();
    /* The head is ours now; the state goes back as this thread's spare. */
    char *head = r->head_owned ? r->head : pyh_strdup(""); /* an accepted head is never empty */
    *out_len = r->head_len;
    r->head = NULL;
    r->head_owned = 0;
    pyh_req_end(r);
    return head;
fail:
    *err = pyh_take_error(NULL); /* repr(exc): a traceback costs more than the call */
    Py_XDECREF(sr);
    Py_XDECREF(status);
    Py_XDECREF(headers);
    pyh_detach();
    if (r->head_owned) free(r->head);
    r->head = NULL;
    r->head_owned = 0;
    pyh_req_end(r);
    return NULL;
}
