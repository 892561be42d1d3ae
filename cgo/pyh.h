/* pyh.h — the C side of pyhost's boundary with CPython.
 *
 * Everything that touches a PyObject lives in the .c files of this package. Go sees only the
 * plain-C types below: an interpreter handle (pyh_interp*), a packed environ buffer going in
 * and a pyh_result coming out. One request is one C call (pyh_serve); the few moments it must
 * talk to Go (reading the body, streaming a chunk) go through the exported Go callbacks in
 * callbacks.go with the thread state detached.
 */
#ifndef PYH_H
#define PYH_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "environ_keys.h"

#define PYH_MAX_INTERPS 256
#define PYH_MAX_APPS 64

/* Environ keys Go may send by number instead of by name (the list is environ_keys.h); a key
 * byte of PYH_KEY_CUSTOM is followed by the key's own bytes instead. */
#define PYH_KEY_ENUM(suffix, key, header) PYH_K_##suffix,
enum pyh_key { PYH_ENVIRON_KEYS(PYH_KEY_ENUM) PYH_K_COUNT };
#undef PYH_KEY_ENUM
#define PYH_KEY_CUSTOM 255

/* One interpreter pyhost serves from (main or sub), with its per-interpreter objects. All
 * PyObject fields belong to `state`'s interpreter and are touched only with one of its thread
 * states attached. */
typedef struct pyh_interp {
    int index;                    /* slot in the per-OS-thread thread-state table */
    PyInterpreterState *state;
    PyThreadState *owner;         /* the thread state the interpreter was created with */
    int own_gil;                  /* a sub-interpreter with its own GIL (or none: free) */
    PyThreadState **made;         /* thread states pyhost made for request threads (tstate.c) */
    int nmade, capmade;
    PyObject *keys[PYH_K_COUNT];  /* interned environ keys */
    PyObject *environ_template;   /* constant environ entries, copied per request */
    PyObject *apps[PYH_MAX_APPS]; /* WSGI callables loaded here (mounts sharing a group) */
    int napps;
    PyObject *start_response_type;
    PyObject *body_reader_type;
    PyObject *make_input;         /* bootstrap: wraps a BodyReader in io.BufferedReader */
    PyObject *empty_input;        /* bootstrap: returns a fresh empty stream */
    PyObject *file_wrapper_type;  /* bootstrap: FileWrapper */
    PyObject *format_exception;   /* bootstrap: exception -> traceback text */
    PyObject *request_timeout_type; /* bootstrap: RequestTimeout, raised at the deadline */
    PyObject *str_close, *str_filelike, *str_blksize, *str_fileno, *str_tell, *str_write;
    PyObject *str_wsgi_input;
    int gil_noticed;              /* atomic: its GIL was found switched back on (gil_probe.c) */
} pyh_interp;

/* What a request's one C call hands back to Go. */
enum pyh_outcome {
    PYH_RESPOND = 0,  /* status+headers (and body) in buf, not yet sent: Go writes them */
    PYH_STREAMED = 1, /* headers and body already went out through callbacks */
    PYH_FAILED = 2,   /* app error before anything was sent: Go answers 500, logs err */
    PYH_ABORTED = 3,  /* error after headers were sent, or the client went away: drop the connection */
    PYH_TIMED_OUT = 4, /* passed its deadline: Go answered 504 meanwhile; the result is dropped */
};

typedef struct pyh_result {
    int outcome;
    char *head;           /* packed "status\0name\0value\0..." */
    size_t head_len;
    int head_owned;       /* 1: malloc'd by C, Go must pyh_free it; 0: inside Go's buffer */
    char *body;
    size_t body_len;
    int body_owned;
    char *err;            /* malloc'd traceback / reason text, or NULL */
    int64_t gil_wait_ns;  /* time spent waiting to attach the thread state */
    int client_gone;      /* the client disconnected while we wrote or read */
    int gil_turned_on;    /* free-threading: the interpreter's GIL found on for the first time
                           * at this request's end: 1 it was off when it began, 2 it was on */
} pyh_result;

/* One request's C state (request_state.c). It lives on the heap, not on pyh_serve's stack,
 * and is reference-counted: pyh_serve holds one reference, and so does every StartResponse and
 * BodyReader object made for the request, which an app thread may keep and use long after the
 * request ended. `lock` guards everything the app's threads can reach: a callback into Go (the
 * per-request-thread handle, Go's buffers) happens only with the lock held and `finished`
 * still 0, and pyh_serve sets `finished` under the lock before it returns into Go. So a late
 * write(), read or start_response() gets a Python exception, never the next request's state.
 * The lock is taken with the thread state detached when it is contended (pyh_req_lock): a
 * write() blocked in Go on a slow client must not hold up every Python thread. */
typedef struct pyh_req {
    pyh_interp *in;
    uintptr_t handle;     /* cgo.Handle of the Go side, passed to the callbacks */
    int refs;             /* atomic: pyh_serve + the Python objects pointing here */
    pthread_mutex_t lock;
    uintptr_t lock_owner; /* atomic: the thread holding lock (re-entry is refused, not hung) */
    /* Guarded by lock: */
    int finished;         /* pyh_serve returned (or is returning) into Go */
    int has_body;
    int started;          /* start_response was called */
    int headers_sent;     /* the head went out through a callback */
    int client_gone;
    int cut_off;          /* passed its deadline before sending anything: Go answered 504, and
                           * nothing of this request may reach Go any more (deadline.c) */
    char *head;           /* packed "status\0name\0value\0..."; Go reads it only under lock */
    size_t head_len, head_cap;
    int head_owned;
    /* Touched by pyh_serve's thread only: */
    char *body;           /* body collected for a one-shot response */
    size_t body_len, body_cap;
    int body_owned;
} pyh_req;

pyh_req *pyh_req_begin(pyh_interp *in, uintptr_t handle, int has_body);
void pyh_req_incref(pyh_req *r);
void pyh_req_decref(pyh_req *r);   /* any thread; frees the state with the last reference */
void pyh_req_end(pyh_req *r);      /* pyh_serve's own reference, after pyh_req_finish */
int pyh_req_sole_owner(pyh_req *r); /* no Python object points at r any more */
int pyh_req_lock(pyh_req *r);      /* attached; -1 + RuntimeError if this thread holds it */
int pyh_req_trylock(pyh_req *r);   /* 1: taken without waiting */
void pyh_req_unlock(pyh_req *r);
/* With the lock held and the request not finished: the callbacks into Go, with the thread
 * state detached while Go works. -1 + OSError when the client went away. */
int pyh_req_send(pyh_req *r, const char *data, size_t n);
int pyh_req_late(pyh_req *r, const char *what); /* -1 + RuntimeError when r is finished,
                                                 * RequestTimeout when it was cut off */
int pyh_req_cut_off_error(pyh_req *r);          /* -1 + RequestTimeout */

/* Request deadlines (deadline.c). A request thread's watch names the request it serves, so
 * that a Go timer can cut it off (Go answers 504), log its Python stack and interrupt it. */
typedef struct pyh_watch pyh_watch;
enum pyh_cut { PYH_CUT_DONE = 0, PYH_CUT_TAKEN = 1, PYH_CUT_STARTED = 2 };
pyh_watch *pyh_watch_new(void);
void pyh_watch_begin(pyh_watch *w, uint64_t seq, pyh_req *r, PyThreadState *ts); /* detached */
void pyh_watch_end(pyh_watch *w);                                                  /* attached */
int pyh_watch_cut(pyh_watch *w, uint64_t seq);                    /* no thread state needed */
int pyh_watch_interrupt(pyh_watch *w, uint64_t seq, char **stack); /* no thread state attached */
int pyh_watch_active(pyh_watch *w, uint64_t seq);
void pyh_probe_gil(pyh_interp *in); /* takes and gives back the interpreter's GIL */
/* The live thread view (/debug/threads): the Python stack of the request a watch names, without
 * disturbing it. No thread state attached; waits for the request's interpreter's GIL. */
int pyh_watch_stack(pyh_watch *w, uint64_t seq, char **stack);
char *pyh_format_stack(PyFrameObject *frame); /* steals frame; its interpreter attached */
#ifdef Py_GIL_DISABLED
PyFrameObject *pyh_frame_of(unsigned long thread_id); /* new reference or NULL; attached */
#endif

int pyh_buf_append(char **buf, size_t *len, size_t *cap, int *owned, const char *data,
                   size_t n);

/* Fork (fork.c): a child forked inside a request never runs Go code. */
int pyh_forked_child(void);                 /* 1 in a child forked from this process */
int pyh_refuse_in_forked_child(void);       /* -1 + OSError in a forked child, else 0 */
void pyh_exit_if_forked_child(PyObject *error); /* child: exits as Python would; steals */

/* Lifecycle (runtime.c). */
int pyh_initialize(const char *program_name, const char *python_home, int enable_gil,
                   char **err);
int pyh_finalize(void);

/* Crashes in C code called from Python (crash.c): the Python stack first, Go's report in the
 * file report_path_prefix + "<pid>.txt". prepare goes before pyh_initialize. */
void pyh_crash_prepare(const char *report_path_prefix);
void pyh_crash_arm(void);
pyh_interp *pyh_main_interp(void);
const char *pyh_version(void);
int pyh_free_threaded(void);
const char *pyh_libpython_file(void);

/* Signals Go keeps whatever Python code does (signals.c). */
#define PYH_KEPT_SIGNALS 6
typedef struct pyh_signal_snapshot {
    struct sigaction action[PYH_KEPT_SIGNALS];
    int valid[PYH_KEPT_SIGNALS];
} pyh_signal_snapshot;
int pyh_kept_signal(int i);                              /* the i-th kept signal's number */
void pyh_signals_save(pyh_signal_snapshot *snap);
uint32_t pyh_signals_restore(const pyh_signal_snapshot *snap); /* bit i: kept signal i put back */

/* Per-interpreter setup (interp.c). Called with the interpreter's thread state attached. */
/* What an interpreter tells its apps about the process it runs in. */
typedef struct {
    const char *process_group;     /* the process group's name ("default": serve's own) */
    const char *application_group; /* the interpreter's application group */
    const char *gil_mode;          /* "shared", "own" or "free" */
    long maximum_processes;
    long threads_per_process;
} pyh_process_facts;
int pyh_interp_setup(pyh_interp *in, const char *bootstrap_src, int multithread,
                     int multiprocess, const pyh_process_facts *facts, char **err);
int pyh_interp_load_app(pyh_interp *in, const char *target, const char *callable,
                        const char *paths, const char *chdir_to, char **err);
char *pyh_bootstrap_call(pyh_interp *in, const char *fn, const char *a1, const char *a2,
                         const char *a3, const char *a4, char **err);
pyh_interp *pyh_interp_new_slot(PyInterpreterState *state, PyThreadState *owner);

/* Sub-interpreters (subinterp.c). */
/* PYH_GIL_SHARED_CHECKED: a legacy sub-interpreter on the main GIL that, like an own-GIL one,
 * refuses extensions without multi-interpreter support (single-phase init): how
 * --application-group auto learns that an app's modules need the main interpreter. */
enum pyh_gil_mode { PYH_GIL_SHARED = 0, PYH_GIL_OWN = 1, PYH_GIL_FREE = 2, PYH_GIL_SHARED_CHECKED = 3 };
pyh_interp *pyh_new_interp(int mode, char **err);
int pyh_end_interp(pyh_interp *in); /* 0 ended; 1 left alive: app daemon threads still run */

/* Thread states (tstate.c): one per (OS thread, interpreter), created on first use. */
PyThreadState *pyh_attach(pyh_interp *in, int64_t *wait_ns);
PyThreadState *pyh_thread_state(pyh_interp *in); /* this OS thread's, made if needed; detached */
void pyh_attach_state(PyThreadState *ts, int64_t *wait_ns);
void pyh_detach(void);
int pyh_gil_held(PyInterpreterState *interp); /* gil_probe.c */
/* Free-threading (gil_probe.c): whether an interpreter's GIL is switched on for good (1 on
 * builds with the GIL), and, once per interpreter, that it has been found so. pyh_gil_watching
 * (set before serving in --gil free) makes each request look until it has. */
extern int pyh_gil_watching;
int pyh_gil_on(pyh_interp *in);
int pyh_gil_notice(pyh_interp *in);
void pyh_register_tstate(pyh_interp *in, PyThreadState *ts);
void pyh_delete_made_tstates(pyh_interp *in); /* with in's owner attached (and again on return,
                                                  bound for PyGILState), no request running */

/* Requests (request.c). */
void pyh_serve(pyh_interp *in, int app, const char *packed, size_t packed_len, uintptr_t handle,
               int has_body, char *buf, size_t buf_cap, pyh_watch *watch, uint64_t seq,
               pyh_result *out);

/* Shared helpers. */
char *pyh_strdup(const char *s);
char *pyh_take_error(pyh_interp *in);   /* fetches + formats the current exception */
/* A _pyhost object that stands for one request (StartResponse, BodyReader): it holds a counted
 * reference to the request's state, which therefore lives while the object does. */
typedef struct {
    PyObject_HEAD
    pyh_req *req;
} pyh_req_object;
/* pyh_req_object_type makes such a type for module (call: its tp_call, or NULL);
 * pyh_req_object_new an object of it, taking a reference to req. */
PyTypeObject *pyh_req_object_type(PyObject *module, const char *name, PyMethodDef *methods,
                                  ternaryfunc call);
PyObject *pyh_req_object_new(PyObject *type, pyh_req *req);
PyTypeObject *pyh_start_response_spec_type(PyObject *module);
PyTypeObject *pyh_body_reader_spec_type(PyObject *module);
PyObject *pyh_build_environ(pyh_interp *in, const char *packed, size_t len);
int pyh_environ_key_count(void);
const char *pyh_environ_key_name(int id);   /* NULL past the end */
const char *pyh_environ_key_header(int id); /* the request header it carries, or NULL */
void pyh_free(void *p);
PyObject *pyh_fetch_exception(void);      /* normalised, traceback attached; NULL if none */
void pyh_restore_exception(PyObject *exc); /* steals exc */
int pyh_get_optional_attr(PyObject *obj, PyObject *name, PyObject **result);
int pyh_tstate_attached(void);

/* wsgi.errors, sys.stderr and unraisable exceptions into pyhost's log (applog.c). */
int pyh_applog_register(PyObject *module); /* _pyhost._log_write, _log_record, ... */
void pyh_applog_begin(pyh_req *r);         /* r is this OS thread's request now (detached) */
void pyh_applog_end(pyh_req *r);           /* its unfinished wsgi.errors line is logged */
/* What an extension module's PyModuleDef declares (extmodule.c). */
int pyh_extmodule_register(PyObject *module); /* _pyhost._module_def */
void pyh_heap_dealloc(PyObject *self);

#endif
