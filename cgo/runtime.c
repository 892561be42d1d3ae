/* runtime.c — starting and stopping the embedded CPython runtime.
 *
 * Python is initialised from a PyConfig that leaves signals to Go. The thread that calls
 * pyh_initialize keeps the main thread state; Go pins that work to one locked goroutine so
 * finalisation later happens on the same OS thread, as CPython expects. */
#include "pyh.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pyh_interp main_interp;
static PyThreadState *main_tstate;

pyh_interp *pyh_main_interp(void) { return &main_interp; }

const char *pyh_version(void) { return Py_GetVersion(); }

int pyh_free_threaded(void) {
#ifdef Py_GIL_DISABLED
    return 1;
#else
    return 0;
#endif
}

char *pyh_strdup(const char *s) {
    if (s == NULL) return NULL;
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

void pyh_free(void *p) { free(p); }

static char *status_error(PyStatus st, const char *what) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s: %s%s%s", what, st.func ? st.func : "",
             st.func ? ": " : "", st.err_msg ? st.err_msg : "unknown error");
    return pyh_strdup(msg);
}

/* A virtual environment is recognised by its pyvenv.cfg: CPython's path calculation then needs
 * the venv's python as `executable`, not `home` (home would hide the venv's site-packages). */
static int is_virtualenv(const char *dir) {
    char cfg[4096];
    snprintf(cfg, sizeof cfg, "%s/pyvenv.cfg", dir);
    return access(cfg, R_OK) == 0;
}

/* faulthandler.enable() allocates an alternate signal stack once and installs it (sigaltstack)
 * on the thread that enables it first; Py_FinalizeEx frees it, restoring the old stack only
 * on the thread that finalises. Left to the app, enable() from a request would swap one of
 * pyhost's request threads from Go's 32 KiB signal stack to faulthandler's (about 17 KiB),
 * on which every later signal for that thread (Go's preemption, a profiler's SIGPROF) runs,
 * and after Python is finalised that thread would still point at the freed memory. So
 * faulthandler gets its stack here, on the main thread, before any app code runs, and the
 * main thread gets Go's stack back: an app's enable() then finds the stack allocated and
 * installs none, its handlers (SA_ONSTACK) run on each thread's own signal stack, and a crash
 * in Python code still prints the Python traceback before Go reports the signal and exits.
 * faulthandler stays enabled (for the crashing thread only, on stderr): it prints the Python
 * stack of a crash in C code (crash.c, whose handler in front of it keeps faults in Go code
 * away from it). Called with the main thread state attached; go_stack is this thread's stack
 * before Python started (PYTHONFAULTHANDLER=1 already enabled faulthandler, for every
 * thread, during initialisation). */
static void settle_faulthandler_stack(const stack_t *go_stack) {
    PyObject *fh = PyImport_ImportModule("faulthandler");
    if (fh == NULL) {
        PyErr_Clear();
        return;
    }
    PyObject *enabled = PyObject_CallMethod(fh, "is_enabled", NULL);
    if (enabled != NULL && !PyObject_IsTrue(enabled)) {
        PyObject *r = PyObject_CallMethod(fh, "enable", "iO", 2, Py_False);
        Py_XDECREF(r);
    }
    Py_XDECREF(enabled);
    Py_DECREF(fh);
    PyErr_Clear();
    sigaltstack(go_stack, NULL);
}

int pyh_initialize(const char *program_name, const char *python_home, int enable_gil,
                   char **err) {
    stack_t go_stack;
    int have_go_stack = sigaltstack(NULL, &go_stack) == 0;
    PyStatus st;
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    config.install_signal_handlers = 0; /* Go owns signals */
    config.parse_argv = 0;
#ifdef Py_GIL_DISABLED
    /* 0 keeps the GIL off even if an extension asks for it; 1 turns it on; -1 is CPython's
     * default (off, but an extension without Py_mod_gil support re-enables it). */
    config.enable_gil = enable_gil;
#else
    (void)enable_gil;
#endif
    st = PyConfig_SetBytesString(&config, &config.program_name, program_name);
    if (PyStatus_Exception(st)) goto fail;
    if (python_home && python_home[0]) {
        if (is_virtualenv(python_home)) {
            char exe[4096];
            snprintf(exe, sizeof exe, "%s/bin/python3", python_home);
            st = PyConfig_SetBytesString(&config, &config.executable, exe);
        } else {
            st = PyConfig_SetBytesString(&config, &config.home, python_home);
        }
        if (PyStatus_Exception(st)) goto fail;
    }
    st = Py_InitializeFromConfig(&config);
    if (PyStatus_Exception(st)) goto fail;
    PyConfig_Clear(&config);

    main_tstate = PyThreadState_Get();
    memset(&main_interp, 0, sizeof main_interp);
    main_interp.index = 0;
    main_interp.state = PyThreadState_GetInterpreter(main_tstate);
    main_interp.owner = main_tstate;
    pyh_register_tstate(&main_interp, main_tstate);
    if (have_go_stack) settle_faulthandler_stack(&go_stack);
    pyh_crash_arm(); /* over faulthandler: crash.c */
    /* Leave the runtime with no thread state attached: requests attach their own. */
    PyEval_SaveThread();
    return 0;
fail:
    *err = status_error(st, "initialising Python");
    PyConfig_Clear(&config);
    return -1;
}

int pyh_finalize(void) {
    PyEval_RestoreThread(main_tstate);
    return Py_FinalizeEx();
}
