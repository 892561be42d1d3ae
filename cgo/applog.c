/* applog.c — what an app writes to wsgi.errors, and the exceptions Python reports as
 * unraisable, go to pyhost's log as records that carry the request id.
 *
 * wsgi.errors is one object per interpreter (bootstrap.py's ErrorLog, in the environ
 * template: no cost per request); it finds the request it writes for through this OS thread's
 * current request, which pyh_req_begin / pyh_req_end set and clear (a request's Python part
 * runs on one OS thread, DESIGN rule 1). The app's own threads have none: their lines are
 * logged without an id. Writes are joined into lines per OS thread (print() writes a line in
 * several pieces), and each line is one log record, handed to Go with the thread state
 * detached: Go's log may block on a slow stderr. */
#include "pyh.h"
#include "_cgo_export.h"
#include <string.h>
#include <unistd.h>

#define PENDING_CAP 8192 /* a longer line is logged in pieces of this size */

enum { APPLOG_ERRORS = 0, APPLOG_EXCEPTION = 1 };

static __thread pyh_req *current; /* the request this OS thread serves, or NULL */
static __thread char *pending;    /* the start of a line not yet ended by '\n' */
static __thread size_t pending_len;

/* Hands one record to Go. attached: this thread's thread state is attached (released around
 * the call). In a child the app forked, Go must not run (DESIGN rule 10): the text goes to
 * stderr as it is. */
static void emit(int kind, const char *text, size_t n, const char *tb, size_t tbn, int attached) {
    if (pyh_forked_child()) {
        ssize_t rc = write(2, text, n);
        if (rc >= 0 && tbn > 0) rc = write(2, tb, tbn);
        (void)rc;
        return;
    }
    uintptr_t handle = current ? current->handle : 0;
    PyThreadState *ts = attached ? PyEval_SaveThread() : NULL;
    pyhostAppLog(handle, kind, (char *)text, n, (char *)tb, tbn);
    if (ts) PyEval_RestoreThread(ts);
}

static void emit_pending(int attached) {
    if (pending_len == 0) return;
    size_t n = pending_len;
    pending_len = 0; /* before Go runs: nothing else on this thread touches it meanwhile */
    emit(APPLOG_ERRORS, pending, n, NULL, 0, attached);
}

static int keep_pending(const char *s, size_t n) {
    if (pending == NULL && (pending = malloc(PENDING_CAP)) == NULL) return -1;
    memcpy(pending + pending_len, s, n);
    pending_len += n;
    return 0;
}

/* Logs the complete lines of s, keeps its unfinished tail for the next write. */
static void feed(const char *s, size_t n) {
    while (n > 0) {
        const char *nl = memchr(s, '\n', n);
        size_t line = nl ? (size_t)(nl - s) : n;
        if (pending_len + line > PENDING_CAP) emit_pending(1);
        if (line > PENDING_CAP) { /* too long to keep: logged in pieces */
            emit(APPLOG_ERRORS, s, PENDING_CAP, NULL, 0, 1);
            s += PENDING_CAP;
            n -= PENDING_CAP;
            continue;
        }
        if (nl == NULL) {
            if (keep_pending(s, line) < 0) emit(APPLOG_ERRORS, s, line, NULL, 0, 1);
            return;
        }
        if (pending_len > 0) {
            if (keep_pending(s, line) < 0) emit(APPLOG_ERRORS, s, line, NULL, 0, 1);
            emit_pending(1);
        } else if (line > 0) { /* an empty line says nothing: not logged */
            emit(APPLOG_ERRORS, s, line, NULL, 0, 1);
        }
        s += line + 1;
        n -= line + 1;
    }
}

/* The UTF-8 of a str, lone surrogates escaped (as sys.stderr does): a new bytes object. */
static PyObject *utf8_of(PyObject *s) {
    return PyUnicode_AsEncodedString(s, "utf-8", "backslashreplace");
}

/* _pyhost._log_errors(s): ErrorLog.write. Returns len(s), as a text file's write does. */
static PyObject *log_errors(PyObject *mod, PyObject *arg) {
    (void)mod;
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "wsgi.errors.write() argument must be str, not %.100s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    PyObject *b = utf8_of(arg);
    if (b == NULL) return NULL;
    feed(PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b));
    Py_DECREF(b);
    return PyLong_FromSsize_t(PyUnicode_GET_LENGTH(arg));
}

/* _pyhost._log_flush(): ErrorLog.flush logs an unfinished line now. */
static PyObject *log_flush(PyObject *mod, PyObject *unused) {
    (void)mod;
    (void)unused;
    emit_pending(1);
    Py_RETURN_NONE;
}

/* _pyhost._log_exception(message, traceback): one record for an exception nobody caught. */
static PyObject *log_exception(PyObject *mod, PyObject *args) {
    (void)mod;
    PyObject *msg, *tb;
    if (!PyArg_ParseTuple(args, "UU", &msg, &tb)) return NULL;
    PyObject *m = utf8_of(msg), *t = m ? utf8_of(tb) : NULL;
    if (t != NULL) {
        emit(APPLOG_EXCEPTION, PyBytes_AS_STRING(m), (size_t)PyBytes_GET_SIZE(m),
             PyBytes_AS_STRING(t), (size_t)PyBytes_GET_SIZE(t), 1);
    }
    Py_XDECREF(m);
    Py_XDECREF(t);
    if (t == NULL) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef applog_functions[] = {
    {"_log_errors", log_errors, METH_O, "wsgi.errors.write: log the lines of a str."},
    {"_log_flush", log_flush, METH_NOARGS, "wsgi.errors.flush: log an unfinished line."},
    {"_log_exception", log_exception, METH_VARARGS, "Log an uncaught exception's traceback."},
    {NULL, NULL, 0, NULL},
};

int pyh_applog_register(PyObject *module) {
    return PyModule_AddFunctions(module, applog_functions);
}

void pyh_applog_begin(pyh_req *r) {
    /* A line left unfinished outside any request (at import time) is not this request's. */
    emit_pending(0);
    current = r;
}

void pyh_applog_end(pyh_req *r) {
    if (current != r) return;
    if (pending_len > 0 && pyh_tstate_attached()) emit_pending(1);
    else if (pending_len > 0) emit_pending(0);
    current = NULL;
}
