/* singlephase.c — which extension modules of an interpreter use single-phase init.
 *
 * A module loaded from an extension file (__file__ ending in .so or .pyd) uses single-phase
 * init when it was not made from a definition with slots: PyModule_GetDef gives NULL (a copy
 * of a module another interpreter initialised) or a definition without m_slots. Such a
 * module shares its C state with every interpreter that imports it, so --application-group
 * auto moves the app to the main interpreter; before 3.12 nothing else tells. */
#include "pyh.h"
#include <string.h>

static int is_extension_file(PyObject *m) {
    PyObject *file = PyObject_GetAttrString(m, "__file__");
    if (file == NULL) {
        PyErr_Clear();
        return 0;
    }
    int yes = 0;
    const char *path = PyUnicode_Check(file) ? PyUnicode_AsUTF8(file) : NULL;
    if (path != NULL) {
        size_t n = strlen(path);
        yes = (n > 3 && strcmp(path + n - 3, ".so") == 0) ||
              (n > 4 && strcmp(path + n - 4, ".pyd") == 0);
    }
    PyErr_Clear();
    Py_DECREF(file);
    return yes;
}

/* Returns the names, comma-separated, of the current interpreter's single-phase extension
 * modules ("" if none; NULL and *err on failure), to be freed with pyh_free. A thread state
 * of the interpreter is attached. */
char *pyh_single_phase_modules(char **err) {
    /* A copy of the items: importing cannot change what is walked. */
    PyObject *items = PyDict_Items(PyImport_GetModuleDict());
    PyObject *found = PyList_New(0);
    char *out = NULL;
    if (items == NULL || found == NULL) goto fail;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
        PyObject *kv = PyList_GET_ITEM(items, i);
        PyObject *name = PyTuple_GET_ITEM(kv, 0), *m = PyTuple_GET_ITEM(kv, 1);
        if (!PyModule_Check(m) || !is_extension_file(m)) continue;
        PyModuleDef *def = PyModule_GetDef(m);
        if ((def == NULL || def->m_slots == NULL) && PyList_Append(found, name) < 0) goto fail;
    }
    PyObject *sep = PyUnicode_FromString(",");
    PyObject *joined = sep ? PyUnicode_Join(sep, found) : NULL;
    Py_XDECREF(sep);
    const char *s = joined ? PyUnicode_AsUTF8(joined) : NULL;
    if (s != NULL) out = pyh_strdup(s);
    Py_XDECREF(joined);
    if (out == NULL) goto fail;
    Py_DECREF(items);
    Py_DECREF(found);
    return out;
fail:
    *err = pyh_strdup("listing the extension modules failed");
    PyErr_Clear();
    Py_XDECREF(items);
    Py_XDECREF(found);
    return NULL;
}
