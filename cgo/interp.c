/* interp.c — per-interpreter state: interned environ keys, the constant part of the environ,
 * pyhost's own types and the bootstrap module. Every interpreter gets its own copies: objects
 * never cross interpreters (a must under a per-interpreter GIL). */
#include "pyh.h"
#include <string.h>

static pyh_interp *slots[PYH_MAX_INTERPS];
static int slots_used = 1; /* slot 0 is the main interpreter */

pyh_interp *pyh_interp_new_slot(PyInterpreterState *state, PyThreadState *owner) {
    if (slots_used >= PYH_MAX_INTERPS) return NULL;
    pyh_interp *in = PyMem_RawCalloc(1, sizeof *in);
    if (in == NULL) return NULL;
    in->index = slots_used;
    in->state = state;
    in->owner = owner;
    slots[slots_used++] = in;
    pyh_register_tstate(in, owner);
    return in;
}

static PyObject *bootstrap_attr(PyObject *mod, const char *name) {
    return PyObject_GetAttrString(mod, name);
}

static int set_template(PyObject *env, const char *key, PyObject *value) {
    if (value == NULL) return -1;
    int rc = PyDict_SetItemString(env, key, value);
    Py_DECREF(value);
    return rc;
}

/* Sets obj.name to a new reference, which it consumes (NULL: the error is set). */
static int set_attr(PyObject *obj, const char *name, PyObject *value) {
    if (value == NULL) return -1;
    int rc = PyObject_SetAttrString(obj, name, value);
    Py_DECREF(value);
    return rc;
}

int pyh_interp_setup(pyh_interp *in, const char *bootstrap_src, int multithread,
                     int multiprocess, const pyh_process_facts *facts, char **err) {
    PyObject *mod = NULL, *code = NULL, *res = NULL, *env = NULL;
    for (int i = 0; i < PYH_K_COUNT; i++) {
        in->keys[i] = PyUnicode_InternFromString(pyh_environ_key_name(i));
        if (in->keys[i] == NULL) goto fail;
    }
#define INTERN(field, s) if ((in->field = PyUnicode_InternFromString(s)) == NULL) goto fail
    INTERN(str_close, "close");
    INTERN(str_filelike, "filelike");
    INTERN(str_blksize, "blksize");
    INTERN(str_fileno, "fileno");
    INTERN(str_tell, "tell");
    INTERN(str_write, "write");
    INTERN(str_wsgi_input, "wsgi.input");
#undef INTERN

    mod = PyImport_AddModule("_pyhost"); /* borrowed; registered in sys.modules */
    if (mod == NULL) goto fail;
    Py_INCREF(mod);
    if (pyh_applog_register(mod) < 0) goto fail;
    if (pyh_extmodule_register(mod) < 0) goto fail;
    PyObject *globals = PyModule_GetDict(mod);
    if (PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins()) < 0) goto fail;
    code = Py_CompileString(bootstrap_src, "<pyhost bootstrap>", Py_file_input);
    if (code == NULL) goto fail;
    res = PyEval_EvalCode(code, globals, globals);
    if (res == NULL) goto fail;

    in->start_response_type = (PyObject *)pyh_start_response_spec_type(mod);
    in->body_reader_type = (PyObject *)pyh_body_reader_spec_type(mod);
    if (!in->start_response_type || !in->body_reader_type) goto fail;
    if (!(in->make_input = bootstrap_attr(mod, "make_input"))) goto fail;
    if (!(in->empty_input = bootstrap_attr(mod, "empty_input"))) goto fail;
    if (!(in->file_wrapper_type = bootstrap_attr(mod, "FileWrapper"))) goto fail;
    if (!(in->format_exception = bootstrap_attr(mod, "format_exception"))) goto fail;
    if (!(in->request_timeout_type = bootstrap_attr(mod, "RequestTimeout"))) goto fail;
    /* The facts apps read from _pyhost (mod_wsgi's module has their counterparts). */
    if (set_attr(mod, "process_group", PyUnicode_FromString(facts->process_group)) < 0 ||
        set_attr(mod, "application_group", PyUnicode_FromString(facts->application_group)) < 0 ||
        set_attr(mod, "maximum_processes", PyLong_FromLong(facts->maximum_processes)) < 0 ||
        set_attr(mod, "threads_per_process", PyLong_FromLong(facts->threads_per_process)) < 0)
        goto fail;

    env = PyDict_New();
    if (env == NULL) goto fail;
    if (set_template(env, "wsgi.version", Py_BuildValue("(ii)", 1, 0)) < 0) goto fail;
    if (set_template(env, "wsgi.multithread", PyBool_FromLong(multithread)) < 0) goto fail;
    if (set_template(env, "wsgi.multiprocess", PyBool_FromLong(multiprocess)) < 0) goto fail;
    if (set_template(env, "wsgi.run_once", PyBool_FromLong(0)) < 0) goto fail;
    if (set_template(env, "wsgi.input_terminated", PyBool_FromLong(1)) < 0) goto fail;
    /* bootstrap's AppStream: records of pyhost's log, with the request id (applog.c). */
    if (set_template(env, "wsgi.errors", bootstrap_attr(mod, "errors")) < 0) goto fail;
    Py_INCREF(in->file_wrapper_type);
    if (set_template(env, "wsgi.file_wrapper", in->file_wrapper_type) < 0) goto fail;
    if (set_template(env, "pyhost.process_group",
                     PyUnicode_FromString(facts->process_group)) < 0) goto fail;
    if (set_template(env, "pyhost.application_group",
                     PyUnicode_FromString(facts->application_group)) < 0) goto fail;
    in->environ_template = env;
    Py_DECREF(mod);
    Py_DECREF(code);
    Py_DECREF(res);
    return 0;
fail:
    *err = pyh_take_error(in);
    Py_XDECREF(mod);
    Py_XDECREF(code);
    Py_XDECREF(res);
    Py_XDECREF(env);
    return -1;
}

/* Calls _pyhost.<fn>() with no arguments (a1 == NULL) or with four str arguments. */
static PyObject *bootstrap_call(const char *fn, const char *a1, const char *a2, const char *a3,
                                const char *a4) {
    PyObject *mod = PyImport_ImportModule("_pyhost");
    if (mod == NULL) return NULL;
    PyObject *f = PyObject_GetAttrString(mod, fn);
    Py_DECREF(mod);
    if (f == NULL) return NULL;
    PyObject *res = a1 == NULL ? PyObject_CallNoArgs(f)
                               : PyObject_CallFunction(f, "ssss", a1, a2, a3, a4);
    Py_DECREF(f);
    return res;
}

int pyh_interp_load_app(pyh_interp *in, const char *target, const char *callable,
                        const char *paths, const char *chdir_to, char **err) {
    PyObject *app = bootstrap_call("load_app", target, callable, paths, chdir_to);
    /* An app that forks while it is imported: its child ends here, never in Go. */
    if (pyh_forked_child()) pyh_exit_if_forked_child(app ? NULL : pyh_fetch_exception());
    if (app == NULL) {
        *err = pyh_take_error(in);
        return -1;
    }
    if (in->napps >= PYH_MAX_APPS) {
        Py_DECREF(app);
        *err = pyh_strdup("too many WSGI applications in one interpreter (at most 64)");
        return -1;
    }
    in->apps[in->napps] = app;
    return in->napps++;
}

char *pyh_take_error(pyh_interp *in) {
    PyObject *exc = pyh_fetch_exception();
    if (exc == NULL) return pyh_strdup("unknown error (no Python exception set)");
    char *out = NULL;
    PyObject *text = NULL;
    if (in && in->format_exception) text = PyObject_CallOneArg(in->format_exception, exc);
    if (text == NULL) {
        PyErr_Clear();
        text = PyObject_Repr(exc);
    }
    if (text) {
        const char *s = PyUnicode_AsUTF8(text);
        out = pyh_strdup(s ? s : "unprintable exception");
        Py_DECREF(text);
    }
    PyErr_Clear();
    Py_DECREF(exc);
    return out ? out : pyh_strdup("unprintable exception");
}

char *pyh_bootstrap_call(pyh_interp *in, const char *fn, const char *a1, const char *a2,
                         const char *a3, const char *a4, char **err) {
    PyObject *res = bootstrap_call(fn, a1, a2, a3, a4), *text = NULL;
    if (pyh_forked_child()) pyh_exit_if_forked_child(res ? NULL : pyh_fetch_exception());
    if (res == NULL) goto fail;
    text = PyObject_Str(res);
    Py_DECREF(res);
    if (text == NULL) goto fail;
    const char *s = PyUnicode_AsUTF8(text);
    if (s == NULL) goto fail;
    char *out = pyh_strdup(s);
    Py_DECREF(text);
    return out;
fail:
    Py_XDECREF(text);
    *err = pyh_take_error(in);
    return NULL;
}
