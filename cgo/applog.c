/* applog.c — what an app writes to wsgi.errors and sys.stderr, the records of Python's
 * `logging` written there, and the exceptions Python reports as unraisable, go to pyhost's log
 * as records that carry the request id.
 *
 * wsgi.errors and sys.stderr are one object each per interpreter (bootstrap.py's AppStream: no
 * cost per request); they find the request they write for through this OS thread's current
 * request, which pyh_req_begin / pyh_req_end set and clear (a request's Python part runs on
 * one OS thread, DESIGN rule 1). The app's own threads have none: their records are logged
 * without an id. The rule for plain writes: a write that ends a line ends a record, and a
 * write that does not waits for the rest (print() writes its text and its "\n" apart), so one
 * write of several lines (a multi-line print(), a formatted traceback) is one record. A record
 * of `logging` is one record whatever it holds (bootstrap finds the LogRecord). Each record is
 * handed to Go with the thread state detached: Go's log may block on a slow stderr. */
#include "pyh.h"
#include "_cgo_export.h"
#include <string.h>
#include <unistd.h>

#define PENDING_CAP 8192 /* text kept waiting for its line's end; a longer write is its own record */

enum { STREAM_ERRORS = 0, STREAM_STDERR = 1 };

static __thread pyh_req *current; /* the request this OS thread serves, or NULL */
static __thread char *pending;    /* written, its line not yet ended by '\n' */
static __thread size_t pending_len;
static __thread int pending_stream;

/* Hands one record to Go. attached: this thread's thread state is attached (released around
 * the call). In a child the app forked, Go must not run (DESIGN rule 10): the text goes to
 * stderr as it is, a line. */
static void emit(pyh_applog_rec *rec, int attached) {
    if (pyh_forked_child()) {
        ssize_t rc = write(2, rec->text, rec->text_len);
        if (rc >= 0) rc = write(2, "\n", 1);
        if (rc >= 0 && rec->tb_len > 0) rc = write(2, rec->tb, rec->tb_len);
        (void)rc;
        return;
    }
    rec->handle = current ? current->handle : 0;
    PyThreadState *ts = attached ? PyEval_SaveThread() : NULL;
    pyhostAppLog(rec);
    if (ts) PyEval_RestoreThread(ts);
}

/* The UTF-8 of a str in the record (a name of `logging`): NULL and 0 if there is none. */
static const char *name_of(PyObject *s, size_t *n) {
    Py_ssize_t len = 0;
    const char *u = s ? PyUnicode_AsUTF8AndSize(s, &len) : NULL;
    if (u == NULL) PyErr_Clear(); /* a name that is not UTF-8 is left out, not an error */
    *n = u ? (size_t)len : 0;
    return u;
}

/* Logs text written to stream as one record, less its line end; nothing if that is empty.
 * level_name, logger: a record of `logging` (kind PYH_APPLOG_RECORD), the thread state
 * attached; NULL for a plain write. */
static void emit_text(int stream, const char *text, size_t n, int level, PyObject *level_name,
                      PyObject *logger, int attached) {
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r')) n--;
    if (n == 0) return;
    pyh_applog_rec rec = {.kind = PYH_APPLOG_WRITE, .stream = stream, .text = text, .text_len = n};
    if (logger != NULL) {
        rec.kind = PYH_APPLOG_RECORD;
        rec.level = level;
        rec.level_name = name_of(level_name, &rec.level_name_len);
        rec.logger = name_of(logger, &rec.logger_len);
    }
    emit(&rec, attached);
}

static void emit_pending(int attached) {
    if (pending_len == 0) return;
    size_t n = pending_len;
    pending_len = 0; /* before Go runs: nothing else on this thread touches it meanwhile */
    emit_text(pending_stream, pending, n, 0, NULL, NULL, attached);
}

/* Logs what stream was written so far, with s, once s ends a line; keeps it waiting if not. */
static void feed(int stream, const char *s, size_t n) {
    if (n == 0) return;
    if (pyh_forked_child()) { /* no Go in a forked child: as written, as plain Python would */
        ssize_t rc = write(2, s, n);
        (void)rc;
        return;
    }
    if (pending_len > 0 && pending_stream != stream) emit_pending(1);
    int ends_line = s[n - 1] == '\n';
    if (pending_len + n > PENDING_CAP) { /* too much to keep: what waits goes out first */
        emit_pending(1);
        if (n > PENDING_CAP) {
            emit_text(stream, s, n, 0, NULL, NULL, 1);
            return;
        }
    }
    if (pending_len == 0 && ends_line) { /* the common case: a whole line, nothing to join */
        emit_text(stream, s, n, 0, NULL, NULL, 1);
        return;
    }
    if (pending == NULL && (pending = malloc(PENDING_CAP)) == NULL) {
        emit_text(stream, s, n, 0, NULL, NULL, 1);
        return;
    }
    memcpy(pending + pending_len, s, n);
    pending_len += n;
    pending_stream = stream;
    if (ends_line) emit_pending(1);
}

/* The UTF-8 of a str, lone surrogates escaped (as sys.stderr does): a new bytes object. */
static PyObject *utf8_of(PyObject *s) {
    return PyUnicode_AsEncodedString(s, "utf-8", "backslashreplace");
}

static PyObject *not_str(PyObject *arg) {
    PyErr_Format(PyExc_TypeError, "write() argument must be str, not %.100s",
                 Py_TYPE(arg)->tp_name);
    return NULL;
}

/* _pyhost._log_write(stream, s): AppStream.write. Returns len(s), as a text file's write does. */
static PyObject *log_write(PyObject *mod, PyObject *args) {
    (void)mod;
    int stream;
    PyObject *s;
    if (!PyArg_ParseTuple(args, "iO", &stream, &s)) return NULL;
    if (!PyUnicode_Check(s)) return not_str(s);
    PyObject *b = utf8_of(s);
    if (b == NULL) return NULL;
    feed(stream, PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b));
    Py_DECREF(b);
    return PyLong_FromSsize_t(PyUnicode_GET_LENGTH(s));
}

/* _pyhost._log_record(stream, s, levelno, levelname, logger): a handler of `logging` writes
 * one LogRecord, formatted as s: one record at its level, whatever s holds. */
static PyObject *log_record(PyObject *mod, PyObject *args) {
    (void)mod;
    int stream, level;
    PyObject *s, *level_name, *logger;
    if (!PyArg_ParseTuple(args, "iOiUU", &stream, &s, &level, &level_name, &logger)) return NULL;
    if (!PyUnicode_Check(s)) return not_str(s);
    PyObject *b = utf8_of(s);
    if (b == NULL) return NULL;
    emit_pending(1); /* what was written before it stays before it */
    const char *text = PyBytes_AS_STRING(b);
    size_t n = (size_t)PyBytes_GET_SIZE(b);
    if (pyh_forked_child()) feed(stream, text, n);
    else emit_text(stream, text, n, level, level_name, logger, 1);
    Py_DECREF(b);
    return PyLong_FromSsize_t(PyUnicode_GET_LENGTH(s));
}

/* _pyhost._log_flush(): AppStream.flush logs what waits for its line's end now. */
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
        emit_pending(1);
        pyh_applog_rec rec = {.kind = PYH_APPLOG_EXCEPTION,
                              .text = PyBytes_AS_STRING(m),
                              .text_len = (size_t)PyBytes_GET_SIZE(m),
                              .tb = PyBytes_AS_STRING(t),
                              .tb_len = (size_t)PyBytes_GET_SIZE(t)};
        emit(&rec, 1);
    }
    Py_XDECREF(m);
    Py_XDECREF(t);
    if (t == NULL) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef applog_functions[] = {
    {"_log_write", log_write, METH_VARARGS, "AppStream.write: log what a str completes."},
    {"_log_record", log_record, METH_VARARGS, "Log a record of logging, at its level."},
    {"_log_flush", log_flush, METH_NOARGS, "AppStream.flush: log an unfinished line."},
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
