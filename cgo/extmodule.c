/* extmodule.c — what an extension module declares about itself, read from its PyModuleDef:
 * _pyhost._module_def(module) and _exports(file, symbol) for the bootstrap's extension_modules() (extmodule.go says what
 * CPython then does with each declaration in each place pyhost runs an app). */
#include "pyh.h"
#include <dlfcn.h>

/* The slot numbers a PyModuleDef's m_slots uses. 3.15 renumbered slots (slots_generated.h:
 * Py_mod_multiple_interpreters is 86 for code compiled against its full API) but still takes
 * the old numbers from modules built against older headers or the limited API. */
#define OLD_MOD_MULTIPLE_INTERPRETERS 3
#define OLD_MOD_GIL 4

static int is_multi_interp_slot(int slot) {
#ifdef Py_mod_multiple_interpreters
    if (slot == Py_mod_multiple_interpreters) return 1;
#endif
    return PY_VERSION_HEX >= 0x030C0000 && slot == OLD_MOD_MULTIPLE_INTERPRETERS;
}

static int is_gil_slot(int slot) {
#ifdef Py_mod_gil
    if (slot == Py_mod_gil) return 1;
#endif
    return PY_VERSION_HEX >= 0x030D0000 && slot == OLD_MOD_GIL;
}

/* _module_def(module) -> None when the module carries no PyModuleDef, else
 * (multi_phase, m_size, multiple_interpreters, gil): the last two are the declared slot
 * values as ints (Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED 0, _SUPPORTED 1,
 * Py_MOD_PER_INTERPRETER_GIL_SUPPORTED 2; Py_MOD_GIL_USED 0, _NOT_USED 1), None when the def
 * does not declare them. */
static PyObject *module_def(PyObject *self, PyObject *module) {
    (void)self;
    if (!PyModule_Check(module)) Py_RETURN_NONE;
    PyModuleDef *def = PyModule_GetDef(module);
    if (def == NULL) {
        if (PyErr_Occurred()) return NULL;
        Py_RETURN_NONE;
    }
    PyObject *multi = Py_NewRef(Py_None), *gil = Py_NewRef(Py_None);
    for (PyModuleDef_Slot *s = def->m_slots; s != NULL && s->slot != 0; s++) {
        PyObject **into = is_multi_interp_slot(s->slot) ? &multi
                        : is_gil_slot(s->slot)          ? &gil
                                                        : NULL;
        if (into == NULL) continue;
        Py_SETREF(*into, PyLong_FromSsize_t((Py_ssize_t)(intptr_t)s->value));
        if (*into == NULL) {
            Py_XDECREF(multi);
            Py_XDECREF(gil);
            return NULL;
        }
    }
    return Py_BuildValue("(OnNN)", def->m_slots != NULL ? Py_True : Py_False, def->m_size,
                         multi, gil);
}

/* _exports(file, symbol) -> whether the shared object at file, already loaded in this process,
 * exports symbol: a module without a PyModuleDef came from a PyInit_ (single-phase: CPython
 * made it from the first import's copy in another interpreter, or PyInit_ built it by hand)
 * or, on 3.15, from a PyModExport_ slots export. */
static PyObject *exports(PyObject *self, PyObject *args) {
    (void)self;
    const char *file, *symbol;
    if (!PyArg_ParseTuple(args, "ss", &file, &symbol)) return NULL;
    void *h = dlopen(file, RTLD_LAZY | RTLD_NOLOAD);
    if (h == NULL) Py_RETURN_NONE; /* not loaded from that path: cannot tell */
    void *sym = dlsym(h, symbol);
    dlclose(h); /* drops only the reference RTLD_NOLOAD took */
    return PyBool_FromLong(sym != NULL);
}

static PyMethodDef extmodule_functions[] = {
    {"_module_def", module_def, METH_O, NULL},
    {"_exports", exports, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

int pyh_extmodule_register(PyObject *module) {
    return PyModule_AddFunctions(module, extmodule_functions);
}
