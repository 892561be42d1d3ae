/* environ.c — the WSGI environ, built in one pass from the buffer Go packed.
 *
 * Format, repeated: one key byte (an enum pyh_key, or PYH_KEY_CUSTOM followed by a 4-byte
 * little-endian key length and the key's bytes), then a 4-byte little-endian value length and
 * the value's bytes. Keys and values become str by latin-1 decoding, as PEP 3333 wants for
 * native strings.
 *
 * The buffer comes from Go, but its lengths are data the client shaped (a header name is as
 * long as the client makes it): every length is checked against the bytes left before it is
 * used, so a malformed buffer is a SystemError (the request ends as a 500), never a read past
 * its end. Lengths are 32-bit on both sides; Go refuses to pack a field that does not fit. */
#include "pyh.h"

#define PYH_KEY_NAME(suffix, key, header) [PYH_K_##suffix] = key,
static const char *const key_names[PYH_K_COUNT] = {PYH_ENVIRON_KEYS(PYH_KEY_NAME)};
#undef PYH_KEY_NAME
#define PYH_KEY_HEADER(suffix, key, header) [PYH_K_##suffix] = header,
static const char *const key_headers[PYH_K_COUNT] = {PYH_ENVIRON_KEYS(PYH_KEY_HEADER)};
#undef PYH_KEY_HEADER

int pyh_environ_key_count(void) { return PYH_K_COUNT; }

const char *pyh_environ_key_name(int id) {
    return id >= 0 && id < PYH_K_COUNT ? key_names[id] : NULL;
}

const char *pyh_environ_key_header(int id) {
    return id >= 0 && id < PYH_K_COUNT ? key_headers[id] : NULL;
}

/* A read position in the packed buffer that never moves past its end. */
typedef struct {
    const unsigned char *start, *p;
    size_t left;
} cursor;

static int malformed(const cursor *c, const char *what, size_t need) {
    PyErr_Format(PyExc_SystemError,
                 "pyhost: malformed packed environ: %s at byte %zu needs %zu bytes, %zu left "
                 "(a bug in pyhost's environ packing; please report it)",
                 what, (size_t)(c->p - c->start), need, c->left);
    return -1;
}

static int take(cursor *c, size_t n, const char *what, const unsigned char **out) {
    if (n > c->left) return malformed(c, what, n);
    *out = c->p;
    c->p += n;
    c->left -= n;
    return 0;
}

/* A 4-byte length, then that many bytes as a latin-1 str; NULL with SystemError if short. */
static PyObject *take_str(cursor *c, const char *what) {
    const unsigned char *b;
    if (take(c, 4, what, &b) < 0) return NULL;
    uint32_t n = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                 (uint32_t)b[3] << 24;
    if (take(c, n, what, &b) < 0) return NULL;
    return PyUnicode_DecodeLatin1((const char *)b, n, NULL);
}

PyObject *pyh_build_environ(pyh_interp *in, const char *packed, size_t len) {
    if (packed == NULL && len > 0) {
        PyErr_SetString(PyExc_SystemError, "pyhost: packed environ is NULL but not empty");
        return NULL;
    }
    PyObject *env = PyDict_Copy(in->environ_template);
    if (env == NULL) return NULL;
    cursor c = {(const unsigned char *)packed, (const unsigned char *)packed, len};
    while (c.left > 0) {
        PyObject *key;
        const unsigned char *idp;
        (void)take(&c, 1, "key id", &idp); /* left > 0: cannot fail */
        unsigned id = *idp;
        if (id == PYH_KEY_CUSTOM) {
            key = take_str(&c, "custom key");
        } else if (id < PYH_K_COUNT) {
            key = Py_NewRef(in->keys[id]);
        } else {
            PyErr_Format(PyExc_SystemError, "pyhost: malformed packed environ: bad key id %u "
                         "at byte %zu", id, (size_t)(idp - c.start));
            goto fail;
        }
        if (key == NULL) goto fail;
        PyObject *value = take_str(&c, "value");
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
