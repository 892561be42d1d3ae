/* signals.c — the process stays Go's (DESIGN rule 10) while Python code runs.
 *
 * Python runs with install_signal_handlers = 0, but app code can still take signals: on the
 * runtime's main thread (where pyhost imports apps, and the only thread where CPython lets
 * signal.signal() work) an app may call signal.signal(SIGTERM, ...), and any C extension may
 * call sigaction(). A Python-level handler would never run in pyhost anyway (the main thread
 * runs Python only while pyhost gives it work), so it would just swallow the signal: SIGTERM
 * would no longer stop the server. Go takes a snapshot of the signals below before each piece
 * of Python work on the main thread and puts back whatever changed afterwards. */
#include "pyh.h"
#include <signal.h>
#include <string.h>

/* The signals pyhost keeps: SIGTERM, SIGINT and SIGHUP end the server (graceful shutdown on
 * the first two), SIGPIPE stays ignored (writes to a closed socket or pipe fail with EPIPE /
 * BrokenPipeError instead of killing the process), SIGURG is how Go's scheduler preempts
 * goroutines, and SIGUSR1 reopens the log files (logrotate). */
static const int kept_signals[PYH_KEPT_SIGNALS] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGURG,
                                                   SIGUSR1};

int pyh_kept_signal(int i) { return kept_signals[i]; }

void pyh_signals_save(pyh_signal_snapshot *snap) {
    for (int i = 0; i < PYH_KEPT_SIGNALS; i++) {
        if (sigaction(kept_signals[i], NULL, &snap->action[i]) != 0) snap->valid[i] = 0;
        else snap->valid[i] = 1;
    }
}

static int same_action(const struct sigaction *a, const struct sigaction *b) {
    /* sa_handler and sa_sigaction share storage; comparing the wider one covers both. */
    return a->sa_sigaction == b->sa_sigaction && a->sa_flags == b->sa_flags;
}

uint32_t pyh_signals_restore(const pyh_signal_snapshot *snap) {
    uint32_t restored = 0;
    for (int i = 0; i < PYH_KEPT_SIGNALS; i++) {
        struct sigaction now;
        if (!snap->valid[i] || sigaction(kept_signals[i], NULL, &now) != 0) continue;
        if (same_action(&now, &snap->action[i])) continue;
        if (sigaction(kept_signals[i], &snap->action[i], NULL) == 0) restored |= 1u << i;
    }
    return restored;
}
