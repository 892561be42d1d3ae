/* extmod.c — one small extension module, built by pyhost's tests (extmodule_test.go) in each
 * of the ways a module can declare what it supports, with the Python under test:
 *
 *   gcc -shared -fPIC -I<sysconfig include> -DMODNAME=NAME -DVARIANT=V extmod.c -o NAME<EXT_SUFFIX>
 *
 * V: SINGLE (single-phase init: PyModule_Create in PyInit_), DEFAULT (multi-phase, no slot
 * but Py_mod_exec), NOT_SUPPORTED, SUPPORTED, PER_GIL (Py_mod_multiple_interpreters values),
 * NO_GIL (per-interpreter-GIL and Py_mod_gil not_used). A slot the Python has no number for
 * (before 3.12 / 3.13) is left out.
 *
 * bump() counts calls in a C global: one counter per process, whichever interpreter calls. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define SINGLE 0
#define DEFAULT 1
#define NOT_SUPPORTED 2
#define SUPPORTED 3
#define PER_GIL 4
#define NO_GIL 5

#define CAT(a, b) a##b
#define INIT_NAME(n) CAT(PyInit_, n)
#define STR2(x) #x
#define STR(x) STR2(x)

static long calls;

static PyObject *bump(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyLong_FromLong(++calls);
}

static PyMethodDef methods[] = {
    {"bump", bump, METH_NOARGS, "bump() -> the number of calls in this process"},
    {NULL, NULL, 0, NULL},
};

#if VARIANT != SINGLE
static int exec_module(PyObject *m) {
    return PyModule_AddStringConstant(m, "variant", STR(VARIANT));
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, (void *)exec_module},
#if PY_VERSION_HEX >= 0x030C0000
#if VARIANT == NOT_SUPPORTED
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#elif VARIANT == SUPPORTED
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED},
#elif VARIANT == PER_GIL || VARIANT == NO_GIL
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#endif
#if PY_VERSION_HEX >= 0x030D0000 && VARIANT == NO_GIL
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};
#endif

static struct PyModuleDef def = {
    PyModuleDef_HEAD_INIT,
    .m_name = STR(MODNAME),
    .m_doc = "pyhost's test extension module (testdata/extmod/extmod.c)",
#if VARIANT == SINGLE
    .m_size = -1,
#else
    .m_size = 0,
    .m_slots = slots,
#endif
    .m_methods = methods,
};

PyMODINIT_FUNC INIT_NAME(MODNAME)(void) {
#if VARIANT == SINGLE
    return PyModule_Create(&def);
#else
    return PyModuleDef_Init(&def);
#endif
}
