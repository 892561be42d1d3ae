/* compat.c — small C-API helpers: the calls whose spelling changed between the CPython
 * versions pyhost supports (3.11 .. 3.13t), and the dealloc
 * shared by pyhost's heap types. */
#include "pyh.h"

PyObject *pyh_fetch_exception(void) {
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (type == NULL) return NULL;
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb && value) PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

void pyh_restore_exception(PyObject *exc) {
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), exc, PyException_GetTraceback(exc));
#endif
}

int pyh_get_optional_attr(PyObject *obj, PyObject *name, PyObject **result) {
#if PY_VERSION_HEX >= 0x030D0000
    return PyObject_GetOptionalAttr(obj, name, result);
#else
    return _PyObject_LookupAttr(obj, name, result);
#endif
}

/* Whether this thread has a thread state attached (without the fatal error PyThreadState_Get
 * gives when it has none). */
int pyh_tstate_attached(void) {
#if PY_VERSION_HEX >= 0x030D0000
    return PyThreadState_GetUnchecked() != NULL;
#else
    return _PyThreadState_UncheckedGet() != NULL;
#endif
}

/* tp_dealloc of pyhost's plain heap types (no GC, no references to drop): an instance of a
 * heap type holds a reference to its type, released here. */
void pyh_heap_dealloc(PyObject *self) {
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}
