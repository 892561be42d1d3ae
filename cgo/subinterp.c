/* subinterp.c — creating and ending sub-interpreters.
 *
 * Both run on the runtime's main thread with nothing attached. Creation attaches the main
 * thread state (CPython wants one current), makes the interpreter — which leaves the new
 * interpreter's thread state current — and detaches it again. That thread state is the
 * interpreter's "owner": setup, loading the app and the final Py_EndInterpreter use it, all on
 * this same OS thread. */
#include "pyh.h"
#include <stdio.h>

#if PY_VERSION_HEX >= 0x030C0000
static PyInterpreterConfig config_for(int mode) {
    PyInterpreterConfig c = {0};
    if (mode == PYH_GIL_SHARED || mode == PYH_GIL_SHARED_CHECKED) {
        /* Legacy sub-interpreter: the main GIL and allocator, everything allowed (checked:
         * but extensions without multi-interpreter support). */
        c.use_main_obmalloc = 1;
        c.allow_fork = 1;
        c.allow_exec = 1;
        c.allow_threads = 1;
        c.allow_daemon_threads = 1;
#ifdef Py_GIL_DISABLED
        /* Free-threaded builds refuse single-phase-init extensions in any sub-interpreter. */
        c.check_multi_interp_extensions = 1;
#else
        c.check_multi_interp_extensions = mode == PYH_GIL_SHARED_CHECKED;
#endif
        c.gil = PyInterpreterConfig_SHARED_GIL;
    } else {
        /* PEP 684: its own GIL, which requires its own allocator and only extensions that
         * declare multi-interpreter support. Forking from a request stays forbidden. */
        c.use_main_obmalloc = 0;
        c.allow_fork = 0;
        c.allow_exec = 0;
        c.allow_threads = 1;
        c.allow_daemon_threads = 0;
        c.check_multi_interp_extensions = 1;
        c.gil = PyInterpreterConfig_OWN_GIL;
    }
    return c;
}
#endif

pyh_interp *pyh_new_interp(int mode, char **err) {
    pyh_interp *main = pyh_main_interp();
    PyThreadState *ts = NULL;
    PyEval_RestoreThread(main->owner);
#if PY_VERSION_HEX >= 0x030C0000
    PyInterpreterConfig config = config_for(mode);
    PyStatus st = Py_NewInterpreterFromConfig(&ts, &config);
    if (PyStatus_Exception(st)) {
        char msg[512];
        snprintf(msg, sizeof msg, "creating a sub-interpreter: %s",
                 st.err_msg ? st.err_msg : "unknown error");
        *err = pyh_strdup(msg);
        PyEval_SaveThread(); /* the main thread state is current again */
        return NULL;
    }
#else
    if (mode != PYH_GIL_SHARED && mode != PYH_GIL_SHARED_CHECKED) {
        *err = pyh_strdup("a per-interpreter GIL needs CPython 3.12 or newer");
        PyEval_SaveThread();
        return NULL;
    }
    ts = Py_NewInterpreter();
    if (ts == NULL) {
        *err = pyh_strdup("creating a sub-interpreter failed (Py_NewInterpreter)");
        PyEval_SaveThread();
        return NULL;
    }
#endif
    pyh_interp *in = pyh_interp_new_slot(PyThreadState_GetInterpreter(ts), ts);
    if (in == NULL) {
        Py_EndInterpreter(ts);
        *err = pyh_strdup("too many interpreters (pyhost supports 255 sub-interpreters)");
        return NULL;
    }
    in->own_gil = mode == PYH_GIL_OWN || mode == PYH_GIL_FREE;
    PyEval_SaveThread();
    return in;
}

/* Ends a sub-interpreter the way CPython requires: its owner thread state current, every
 * other thread state of it deleted first. The app's non-daemon threads are waited for; if
 * daemon threads of the app still run, their thread states cannot be taken from them, so the
 * interpreter is left alive (returns 1) and the caller must not finalise the runtime. */
int pyh_end_interp(pyh_interp *in) {
    PyEval_RestoreThread(in->owner);
    PyObject *name = PyUnicode_FromString("threading");
    PyObject *threading = name ? PyImport_GetModule(name) : NULL;
    Py_XDECREF(name);
    if (threading != NULL) {
        PyObject *r = PyObject_CallMethod(threading, "_shutdown", NULL);
        if (r == NULL) PyErr_WriteUnraisable(threading);
        Py_XDECREF(r);
        Py_DECREF(threading);
    }
    PyErr_Clear();
    pyh_delete_made_tstates(in);
    if (PyInterpreterState_ThreadHead(in->state) != in->owner || PyThreadState_Next(in->owner)) {
        PyEval_SaveThread();
        return 1;
    }
    Py_EndInterpreter(in->owner);
    /* Py_EndInterpreter leaves no thread state current. An own GIL is gone with its
     * interpreter; the shared main GIL is still held, so hand it back through the main
     * thread state. */
    if (!in->own_gil) {
        PyThreadState_Swap(pyh_main_interp()->owner);
        PyEval_SaveThread();
    }
    pyh_register_tstate(in, NULL);
    in->state = NULL;
    return 0;
}
