/* deadline.c — request timeouts: a Go timer cuts off a request that passed its deadline (Go
 * then answers 504), logs the Python stack of the request's thread and raises RequestTimeout
 * in it (PyThreadState_SetAsyncExc).
 *
 * A watch belongs to one request thread (Go's, the scratch state a request borrows) and lives
 * for the process. It names the request that thread serves now by a sequence number that Go
 * gives each request, so a timer that fires late acts on nothing rather than on the next
 * request. Orders, every one of which must be safe:
 *
 * - the timer fires before the request has its GIL, while the app runs, while a callback is in
 *   Go (the cut waits for the request's lock), or after the request ended (the number differs:
 *   nothing happens);
 * - after the cut, the app's start_response/write()/wsgi.input raise RequestTimeout, so nothing
 *   of the request reaches Go's response writer, which the timer's goroutine now owns;
 * - the exception is injected only while the watch still names the request, under the watch's
 *   lock, and pyh_watch_end (under the same lock) withdraws one the request never raised: it can
 *   never land in the next request served on that thread state.
 *
 * Locks: the GIL (or the attached thread state) before the watch's lock, never after it: the
 * request thread takes the watch's lock detached (begin) or with trylock, waiting detached
 * (end). The request's own lock is taken by the timer with no thread state and nothing else
 * held. */
#include "pyh.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct pyh_watch {
    pthread_mutex_t lock;
    /* Guarded by lock: */
    uint64_t seq;            /* the request served now; 0: none */
    pyh_req *req;            /* its state, until it finishes (NULL after pyh_watch_end) */
    pyh_interp *in;
    PyThreadState *ts;       /* the request's thread state */
    unsigned long thread_id; /* its OS thread, as PyThreadState_SetAsyncExc names threads */
    int injected;            /* a RequestTimeout was sent to ts */
};

pyh_watch *pyh_watch_new(void) {
    pyh_watch *w = calloc(1, sizeof *w);
    if (w != NULL) pthread_mutex_init(&w->lock, NULL);
    return w;
}

void pyh_watch_begin(pyh_watch *w, uint64_t seq, pyh_req *r, PyThreadState *ts) {
    pthread_mutex_lock(&w->lock);
    w->seq = seq;
    w->req = r;
    w->in = r->in;
    w->ts = ts;
    w->thread_id = PyThread_get_thread_ident();
    w->injected = 0;
    pthread_mutex_unlock(&w->lock);
}

void pyh_watch_end(pyh_watch *w) {
    if (pthread_mutex_trylock(&w->lock) != 0) {
        /* The timer holds it, perhaps with this interpreter's GIL: wait detached. */
        Py_BEGIN_ALLOW_THREADS
        pthread_mutex_lock(&w->lock);
        Py_END_ALLOW_THREADS
    }
    int injected = w->injected;
    unsigned long id = w->thread_id;
    w->seq = 0;
    w->req = NULL;
    w->ts = NULL;
    w->injected = 0;
    /* Withdraws a RequestTimeout the request never raised (it was in C code to the end): the
     * next request on this thread state must not get it. With the lock held no timer can send
     * another. */
    if (injected) PyThreadState_SetAsyncExc(id, NULL);
    pthread_mutex_unlock(&w->lock);
}

int pyh_watch_active(pyh_watch *w, uint64_t seq) {
    pthread_mutex_lock(&w->lock);
    int active = w->seq == seq && seq != 0;
    pthread_mutex_unlock(&w->lock);
    return active;
}

int pyh_watch_cut(pyh_watch *w, uint64_t seq) {
    pthread_mutex_lock(&w->lock);
    pyh_req *r = w->seq == seq ? w->req : NULL;
    if (r != NULL) pyh_req_incref(r); /* finish() then takes the request's lock */
    pthread_mutex_unlock(&w->lock);
    if (r == NULL) return PYH_CUT_DONE;
    /* The holder may be in Go (a body read, a chunk written): those end within the body and
     * write timeouts, and a chunk that went out means the response started. */
    pthread_mutex_lock(&r->lock);
    int verdict;
    if (r->finished) {
        verdict = PYH_CUT_DONE;
    } else if (r->headers_sent || r->client_gone) {
        verdict = PYH_CUT_STARTED;
    } else {
        r->cut_off = 1;
        verdict = PYH_CUT_TAKEN;
    }
    pthread_mutex_unlock(&r->lock);
    pyh_req_decref(r);
    return verdict;
}

/* Appends printf-style text to a malloc'd buffer; keeps what fits if memory runs out. */
static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*buf ? *buf + *len : NULL, *buf ? *cap - *len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (*buf && *len + (size_t)n < *cap) {
            *len += (size_t)n;
            return;
        }
        size_t ncap = (*cap ? *cap * 2 : 1024) + (size_t)n;
        char *nb = realloc(*buf, ncap);
        if (nb == NULL) return;
        *buf = nb;
        *cap = ncap;
    }
}

static const char *utf8_or(PyObject *s, const char *fallback) {
    const char *u = s && PyUnicode_Check(s) ? PyUnicode_AsUTF8(s) : NULL;
    if (u == NULL) PyErr_Clear();
    return u ? u : fallback;
}

#define MAX_FRAMES 256

/* Formats a stack as a traceback does (outermost call first) from its innermost frame; steals
 * the reference. Needs the frames' interpreter attached; runs no Python code. */
char *pyh_format_stack(PyFrameObject *frame) {
    PyFrameObject *frames[MAX_FRAMES];
    int n = 0, skipped = 0;
    while (frame != NULL) {
        if (n < MAX_FRAMES) {
            frames[n++] = frame;
        } else {
            /* Keep the innermost MAX_FRAMES: drop the outermost kept one. */
            Py_DECREF(frames[0]);
            memmove(frames, frames + 1, (MAX_FRAMES - 1) * sizeof *frames);
            frames[MAX_FRAMES - 1] = frame;
            skipped++;
        }
        frame = PyFrame_GetBack(frame);
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    append(&buf, &len, &cap, "Stack of the request's thread (most recent call last):\n");
    if (skipped) append(&buf, &len, &cap, "  ... %d outer frames left out\n", skipped);
    if (n == 0) append(&buf, &len, &cap, "  (no Python frame: not yet in the app)\n");
    for (int i = n - 1; i >= 0; i--) {
        PyCodeObject *code = PyFrame_GetCode(frames[i]);
        append(&buf, &len, &cap, "  File \"%s\", line %d, in %s\n",
               utf8_or(code->co_filename, "?"), PyFrame_GetLineNumber(frames[i]),
               utf8_or(code->co_name, "?"));
        Py_DECREF(code);
        Py_DECREF(frames[i]);
    }
    return buf;
}

#ifdef Py_GIL_DISABLED
/* Free-threaded, the request's thread runs while this one looks: sys._current_frames() stops
 * every thread while it takes each one's innermost frame (a strong reference). */
PyFrameObject *pyh_frame_of(unsigned long thread_id) {
    PyObject *current = PySys_GetObject("_current_frames"); /* borrowed */
    PyObject *frames = current ? PyObject_CallNoArgs(current) : NULL;
    if (frames == NULL) {
        PyErr_Clear();
        return NULL;
    }
    PyObject *key = PyLong_FromUnsignedLong(thread_id);
    PyObject *frame = key ? PyDict_GetItemWithError(frames, key) : NULL; /* borrowed */
    Py_XINCREF(frame);
    Py_XDECREF(key);
    Py_DECREF(frames);
    PyErr_Clear();
    return (PyFrameObject *)frame;
}
#endif

/* Reads the stack of the request the watch follows, if it is still request seq, and with
 * `interrupt` raises RequestTimeout in it. Returns -1 when the watch has moved on, else
 * whether the exception was set (0 without `interrupt`). */
static int watch_frames(pyh_watch *w, uint64_t seq, char **stack, int interrupt) {
    *stack = NULL;
    pthread_mutex_lock(&w->lock);
    pyh_interp *in = w->seq == seq ? w->in : NULL;
    unsigned long thread_id = w->thread_id;
    pthread_mutex_unlock(&w->lock);
    if (in == NULL) return -1;
    /* Attach to the request's interpreter: its GIL (shared or own) keeps the request's thread
     * still while its frames are read, and PyThreadState_SetAsyncExc acts on the threads of
     * the interpreter attached. A thread stuck in C code without the GIL is read as it is. A
     * request that holds that GIL for ever keeps this call waiting: callers that must not
     * wait (/debug/threads) bound their wait and let this finish on its own. */
    pyh_attach(in, NULL);
#ifdef Py_GIL_DISABLED
    /* Taken before the watch's lock: stopping the world waits for every attached thread. */
    PyFrameObject *frame = pyh_frame_of(thread_id);
#endif
    pthread_mutex_lock(&w->lock);
    int rc = -1;
    if (w->seq == seq) {
#ifndef Py_GIL_DISABLED
        /* The request's frames: with this interpreter's GIL held here, its thread is stopped
         * at a GIL switch or in C code that released the GIL. */
        PyFrameObject *frame = PyThreadState_GetFrame(w->ts);
#else
        frame = (PyFrameObject *)Py_XNewRef(frame);
#endif
        *stack = pyh_format_stack(frame);
        rc = 0;
        if (interrupt && PyThreadState_SetAsyncExc(thread_id, in->request_timeout_type) > 0) {
            w->injected = 1;
            rc = 1;
        }
    }
    pthread_mutex_unlock(&w->lock);
#ifdef Py_GIL_DISABLED
    Py_XDECREF(frame);
#endif
    PyErr_Clear();
    pyh_detach();
    return rc;
}

int pyh_watch_interrupt(pyh_watch *w, uint64_t seq, char **stack) {
    return watch_frames(w, seq, stack, 1) == 1;
}

int pyh_watch_stack(pyh_watch *w, uint64_t seq, char **stack) {
    return watch_frames(w, seq, stack, 0) >= 0;
}

void pyh_probe_gil(pyh_interp *in) {
    pyh_attach(in, NULL);
    pyh_detach();
}
