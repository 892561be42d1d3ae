/* request.c — one request, one C call: attach this thread's state for the interpreter, build
 * the environ, call the app, drain its iterable, call close(), detach.
 *
 * A list or tuple response is gathered into the caller's buffer and handed back for Go to
 * write after the call (no crossing at all); any other iterable is streamed chunk by chunk
 * through pyhostSend with the thread state detached, since PEP 3333 forbids holding back a
 * yielded block; a wsgi.file_wrapper over a real file goes to Go as a file descriptor. */
#include "pyh.h"
#include "_cgo_export.h"
#include "pymodule.h"
#include <string.h>

static int check_bytes(PyObject *item) {
    if (PyBytes_Check(item)) return 0;
    PyErr_Format(PyExc_TypeError, "the response iterable yielded %.100s; WSGI bodies are bytes",
                 Py_TYPE(item)->tp_name);
    return -1;
}

static int need_start(pyh_req *r) {
    if (r->started) return 0;
    PyErr_SetString(PyExc_RuntimeError,
                    "the app returned body data without calling start_response()");
    return -1;
}

/* Sends a file_wrapper'd real file with sendfile. 1: sent (or client gone), 0: not a file Go can
 * send (the caller iterates instead), -1: Python error. */
static int try_sendfile(pyh_req *r, PyObject *wrapper) {
    pyh_interp *in = r->in;
    PyObject *filelike = PyObject_GetAttr(wrapper, in->str_filelike);
    if (filelike == NULL) return -1;
    PyObject *fd_obj = PyObject_CallMethodNoArgs(filelike, in->str_fileno);
    PyObject *pos_obj = fd_obj ? PyObject_CallMethodNoArgs(filelike, in->str_tell) : NULL;
    Py_DECREF(filelike);
    if (pos_obj == NULL) { /* no fileno() / tell(): BytesIO and friends */
        Py_XDECREF(fd_obj);
        PyErr_Clear();
        return 0;
    }
    int fd = PyLong_AsLong(fd_obj);
    long long pos = PyLong_AsLongLong(pos_obj);
    Py_DECREF(fd_obj);
    Py_DECREF(pos_obj);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (pyh_refuse_in_forked_child() < 0 || pyh_req_lock(r) < 0) return -1;
    int64_t sent = -2;
    /* Not started, or another thread of the app wrote meanwhile: the caller iterates. */
    if (r->started && !r->headers_sent && !r->cut_off) {
        const char *head = r->head;
        size_t head_len = r->head_len;
        Py_BEGIN_ALLOW_THREADS
        sent = pyhostSendFile(r->handle, (char *)head, head_len, fd, pos);
        Py_END_ALLOW_THREADS
        if (sent != -2) r->headers_sent = 1;
        if (sent < 0 && sent != -2) r->client_gone = 1;
    }
    pyh_req_unlock(r);
    return sent == -2 ? 0 : 1; /* -2: not a regular file, nothing was sent */
}

/* Items of a list or tuple body. Free-threaded, another thread of the app may change a list
 * while it is drained: every item is then a strong reference (NULL past the end). With the GIL
 * the list cannot change while this thread holds it, and borrowed items cost nothing. */
#ifdef Py_GIL_DISABLED
static PyObject *body_item(PyObject *seq, Py_ssize_t i) {
    if (PyTuple_CheckExact(seq))
        return i < PyTuple_GET_SIZE(seq) ? Py_NewRef(PyTuple_GET_ITEM(seq, i)) : NULL;
    PyObject *item = PyList_GetItemRef(seq, i);
    if (item == NULL) PyErr_Clear(); /* IndexError: the list is shorter now */
    return item;
}
#define body_item_done(item) Py_DECREF(item)
#else
static PyObject *body_item(PyObject *seq, Py_ssize_t i) {
    /* The size is read again each time: streaming releases the GIL, and another thread of the
     * app could change the list meanwhile. */
    return i < PySequence_Fast_GET_SIZE(seq) ? PySequence_Fast_GET_ITEM(seq, i) : NULL;
}
#define body_item_done(item) ((void)0)
#endif

/* Streams one chunk of the body. */
static int stream_chunk(pyh_req *r, PyObject *item) {
    if (pyh_refuse_in_forked_child() < 0 || pyh_req_lock(r) < 0) return -1;
    int rc = need_start(r);
    if (rc == 0) rc = pyh_req_send(r, PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item));
    pyh_req_unlock(r);
    return rc;
}

/* Free-threaded, the app's other threads may call start_response or write() while a list body
 * is drained, so the drain holds the request's lock throughout. With the GIL every write of the
 * request's state happens with a thread state attached (and the lock held), so this attached
 * thread reads the state unlocked and locks only to stream: the hot path takes no lock here. */
#ifdef Py_GIL_DISABLED
#define drain_lock(r) pyh_req_lock(r)
#define drain_unlock(r) pyh_req_unlock(r)
#define drain_send(r, item) pyh_req_send(r, PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item))
#else
#define drain_lock(r) 0
#define drain_unlock(r) ((void)0)
#define drain_send(r, item) stream_chunk(r, item)
#endif

/* Gathers a list or tuple body into r->body, or streams it once a write() sent the head. */
static int drain_sequence(pyh_req *r, PyObject *seq) {
    if (drain_lock(r) < 0) return -1;
    int rc = 0;
    PyObject *item;
    for (Py_ssize_t i = 0; rc == 0 && (item = body_item(seq, i)) != NULL; i++) {
        rc = check_bytes(item);
        Py_ssize_t len = rc == 0 ? PyBytes_GET_SIZE(item) : 0;
        if (len > 0) rc = need_start(r);
        if (len > 0 && rc == 0) {
            if (r->headers_sent) {
                Py_INCREF(item); /* keeps its bytes alive while Go writes them */
                rc = drain_send(r, item);
                Py_DECREF(item);
            } else if (pyh_buf_append(&r->body, &r->body_len, &r->body_cap, &r->body_owned,
                                      PyBytes_AS_STRING(item), len) < 0) {
                PyErr_NoMemory();
                rc = -1;
            }
        }
        body_item_done(item);
    }
    drain_unlock(r);
    return rc;
}

/* r->started, which the app's other threads may set at any time. With the GIL every write of
 * the request's state happens with the lock held and a thread state attached, so an attached
 * reader needs no lock. */
static int started(pyh_req *r) {
#ifdef Py_GIL_DISABLED
    if (pyh_req_lock(r) < 0) return 0; /* not reached: this thread does not hold it */
    int s = r->started;
    pyh_req_unlock(r);
    return s;
#else
    return r->started;
#endif
}

/* Drains the app's return value. 0 ok, -1 Python error (or client gone: r->client_gone). */
static int drain(pyh_req *r, PyObject *result) {
    if (PyBytes_Check(result) || PyUnicode_Check(result)) {
        /* Iterating would "work" and send one byte (or character) at a time, or fail on ints. */
        PyErr_Format(PyExc_TypeError, "the app returned %.50s itself; return an iterable of "
                     "bytes, e.g. [body]", Py_TYPE(result)->tp_name);
        return -1;
    }
    if (PyList_CheckExact(result) || PyTuple_CheckExact(result)) return drain_sequence(r, result);
    if (Py_IS_TYPE(result, (PyTypeObject *)r->in->file_wrapper_type)) {
        int rc = try_sendfile(r, result);
        if (rc != 0) return rc < 0 ? -1 : 0;
    }
    PyObject *it = PyObject_GetIter(result);
    if (it == NULL) return -1;
    PyObject *item;
    while ((item = PyIter_Next(it)) != NULL) {
        int rc = check_bytes(item);
        if (rc == 0 && PyBytes_GET_SIZE(item) > 0) rc = stream_chunk(r, item);
        Py_DECREF(item);
        if (rc < 0) {
            Py_DECREF(it);
            return -1;
        }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

/* Calls result.close() if it has one. Keeps an earlier error if there was one. */
static int close_result(pyh_req *r, PyObject *result, PyObject **first_error) {
    PyObject *close = NULL;
    if (PyList_CheckExact(result) || PyTuple_CheckExact(result)) return 0;
    if (pyh_get_optional_attr(result, r->in->str_close, &close) < 0) goto error;
    if (close == NULL) return 0;
    PyObject *ret = PyObject_CallNoArgs(close);
    Py_DECREF(close);
    if (ret == NULL) goto error;
    Py_DECREF(ret);
    return 0;
error:
    if (*first_error == NULL) *first_error = pyh_fetch_exception();
    else PyErr_Clear();
    return -1;
}

/* Marks r finished and moves its outcome into out (out->err holds the app's traceback when
 * `failed`). Runs no Python code. When no Python object points at r any more (the usual case)
 * no other thread can reach it, and the lock is skipped. */
static void finish(pyh_req *r, int failed, pyh_result *out) {
    int locked = !pyh_req_sole_owner(r);
    if (locked) pyh_req_lock(r); /* cannot fail: this thread never holds it here */
    r->finished = 1;
    if (r->cut_off) {
        /* Go answered 504 at the deadline; what the app did since goes nowhere. out->err keeps
         * the traceback (the RequestTimeout's, usually) for the log. */
        out->outcome = PYH_TIMED_OUT;
    } else if (failed) {
        out->outcome = r->headers_sent || r->client_gone ? PYH_ABORTED : PYH_FAILED;
        if (r->client_gone) { /* the error was the client leaving: nothing to log */
            free(out->err);
            out->err = NULL;
        }
    } else if (r->client_gone) {
        out->outcome = PYH_ABORTED;
    } else if (r->headers_sent) {
        out->outcome = PYH_STREAMED;
    } else {
        out->outcome = PYH_RESPOND;
        /* Pointers only for C memory: data still in Go's buffer is found there by Go. */
        out->head = r->head_owned ? r->head : NULL;
        out->head_len = r->head_len;
        out->head_owned = r->head_owned;
        out->body = r->body_owned ? r->body : NULL;
        out->body_len = r->body_len;
        out->body_owned = r->body_owned;
        r->head_owned = r->body_owned = 0; /* ownership moved to Go */
    }
    out->client_gone = r->client_gone;
    if (r->head_owned) free(r->head);
    if (r->body_owned) free(r->body);
    /* Nothing may reach Go's buffer (the next request's) through r from now on. */
    r->head = r->body = NULL;
    r->head_len = r->head_cap = r->body_len = r->body_cap = 0;
    r->head_owned = r->body_owned = 0;
    if (locked) pyh_req_unlock(r);
}

void pyh_serve(pyh_interp *in, int app, const char *packed, size_t packed_len, uintptr_t handle,
               int has_body, char *buf, size_t buf_cap, pyh_watch *watch, uint64_t seq,
               pyh_result *out) {
    PyObject *error = NULL, *environ = NULL, *sr = NULL, *reader = NULL, *input = NULL;
    PyObject *result = NULL;

    memset(out, 0, sizeof *out);
    pyh_req *r = pyh_req_begin(in, handle, has_body);
    if (r == NULL) {
        out->outcome = PYH_FAILED;
        out->err = pyh_strdup("out of memory for a request's state");
        return;
    }
    /* The caller's buffer: its first quarter holds the packed head, the rest the body. */
    r->head = buf;
    r->head_cap = buf_cap / 4;
    r->body = buf + r->head_cap;
    r->body_cap = buf_cap - r->head_cap;
    PyThreadState *ts = pyh_thread_state(in);
    /* Watched from before the wait for the GIL: the deadline counts that wait too. */
    if (watch != NULL) pyh_watch_begin(watch, seq, r, ts);
    pyh_obs obs; /* the pyhost module's metrics and events (pymodule.h): a flag when unused */
    pyh_obs_begin(in, &obs);
    pyh_attach_state(ts, &out->gil_wait_ns);
    /* --gil free: was the GIL still off as the app began (until it has been found on)? */
    int gil_watch = pyh_gil_watching && !__atomic_load_n(&in->gil_noticed, __ATOMIC_RELAXED);
    int gil_was_on = gil_watch && pyh_gil_on(in);

    if (app < 0 || app >= in->napps) {
        PyErr_SetString(PyExc_RuntimeError, "no such WSGI application in this interpreter");
        goto error;
    }
    environ = pyh_build_environ(in, packed, packed_len);
    if (environ == NULL) goto error;
    pyh_current_set(in, environ);
    if (has_body) {
        reader = pyh_req_object_new(in->body_reader_type, r);
        input = reader ? PyObject_CallOneArg(in->make_input, reader) : NULL;
    } else {
        input = PyObject_CallNoArgs(in->empty_input);
    }
    if (input == NULL || PyDict_SetItem(environ, in->str_wsgi_input, input) < 0) goto error;
    if (obs.flags && pyh_obs_started(in, &obs, environ) < 0) goto error;
    sr = pyh_req_object_new(in->start_response_type, r);
    if (sr == NULL) goto error;

    PyObject *args[2] = {environ, sr};
    result = PyObject_Vectorcall(in->apps[app], args, 2, NULL);
    if (result == NULL) goto error;
    if (pyh_forked_child()) goto done; /* the app forked and this is the child: no body */
    if (drain(r, result) < 0) error = pyh_fetch_exception();
    close_result(r, result, &error);
    if (error == NULL && !started(r)) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the app returned without calling start_response() (PEP 3333)");
        goto error;
    }
    goto done;
error:
    if (error == NULL) error = pyh_fetch_exception();
done:
    /* The app's part is over: from here on only pyhost's code runs (formatting a traceback may
     * import traceback), so the deadline's timer lets go of the request now and withdraws a
     * RequestTimeout not yet raised. One raised inside an import can leave CPython's import
     * lock held for good, wedging every other request thread. */
    if (watch != NULL) pyh_watch_end(watch);
    pyh_exit_if_forked_child(error); /* a child forked by the app never returns into Go */
    if (obs.flags) pyh_obs_ending(in, &obs, r, error);
    int failed = error != NULL;
    if (failed) {
        pyh_restore_exception(error);
        out->err = pyh_take_error(in);
    }
    /* Finalisers may run here (and write, or fork): all before the request is finished. */
    Py_XDECREF(sr);
    Py_XDECREF(reader);
    Py_XDECREF(input);
    Py_XDECREF(result);
    pyh_current_clear();
    Py_XDECREF(environ);
    pyh_exit_if_forked_child(NULL);
    finish(r, failed, out);
    pyh_req_end(r);
    if (obs.flags) pyh_obs_end(in, &obs, out);
    if (gil_watch && pyh_gil_notice(in)) out->gil_turned_on = gil_was_on ? 2 : 1;
    pyh_detach();
}
