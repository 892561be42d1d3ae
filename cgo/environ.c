/* environ.c — the WSGI environ, built in one pass from the buffer Go packed.
 *
 * Format, repeated: one key byte (an enum pyh_key, or PYH_KEY_CUSTOM followed by a 2-byte
 * little-endian length and the key's bytes), then a 4-byte little-endian value length and the
 * value's bytes. Values become str by latin-1 decoding, as PEP 3333 wants for native strings. */
#include "pyh.h"

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

PyObject *pyh_build_environ(pyh_interp *in, const char *packed, size_t len) {
    PyObject *env = PyDict_Copy(in->environ_template);
    if (env == NULL) return NULL;
    const unsigned char *p = (const unsigned char *)packed, *end = p + len;
    while (p < end) {
        PyObject *key;
        unsigned id = *p++;
        if (id == PYH_KEY_CUSTOM) {
            size_t kn = (size_t)p[0] | (size_t)p[1] << 8;
            p += 2;
            key = PyUnicode_DecodeLatin1((const char *)p, kn, NULL);
            p += kn;
        } else if (id < PYH_K_COUNT) {
            key = Py_NewRef(in->keys[id]);
        } else {
            PyErr_Format(PyExc_SystemError, "pyhost: bad environ key id %u", id);
            goto fail;
        }
        if (key == NULL) goto fail;
        size_t vn = le32(p);
        p += 4;
        PyObject *value = PyUnicode_DecodeLatin1((const char *)p, vn, NULL);
        p += vn;
        if (value == NULL) {
            Py_DECREF(key);
            goto fail;
        }
        int rc = PyDict_SetItem(env, key, value);
        Py_DECREF(key);
        Py_DECREF(value);
        if (rc < 0) goto fail;
    }
    return env;
fail:
    Py_DECREF(env);
    return NULL;
}
