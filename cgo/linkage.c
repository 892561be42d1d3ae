/* linkage.c — where the running libpython's code lives: in the pyhost binary itself (linked
 * from a static archive, scripts/python-pc.sh) or in a shared library. `pyhost version` says
 * which, since the two cost different amounts of CPU for the same Python code. */
#include "pyh.h"
#include <dlfcn.h>

/* The file that holds Py_Initialize's code, as the dynamic loader names it (the executable's
 * own path when libpython is linked in), or "" if the loader cannot say. */
const char *pyh_libpython_file(void) {
    Dl_info info;
    if (dladdr((void *)&Py_Initialize, &info) == 0 || info.dli_fname == NULL) return "";
    return info.dli_fname;
}

/* A static link pulls in only the archive members something refers to. Extension modules are
 * loaded later and may call any C-API function, so every one must be in the binary's exported
 * symbol table. Nothing in pyhost or the rest of libpython refers to the members that hold the
 * interpreter's command-line entry points (Modules/main.c, Python/frozenmain.c), so they are
 * referred to here; the test TestStaticBinaryExportsTheWholeCAPI compares the exports with
 * the shared libpython's. */
__attribute__((used)) static void *const pyh_keep_entry_points[] = {
    (void *)Py_Main, (void *)Py_BytesMain, (void *)Py_RunMain, (void *)Py_FrozenMain,
};
