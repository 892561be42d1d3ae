/* environ_keys.h — the one list of environ keys Go may send by number instead of by name.
 *
 * Each interpreter interns their str objects once (interp.c), so the common keys cost no
 * allocation per request. C builds enum pyh_key and the name table from this list; Go reads
 * the same table at start-up through cgo.EnvironKeys (environ_keys.go), so the two sides cannot
 * disagree on a number. Adding a key means adding one line here, nothing else.
 *
 * X(ENUM_SUFFIX, "environ key", "request header it carries, canonical form" or NULL) */
#ifndef PYH_ENVIRON_KEYS_H
#define PYH_ENVIRON_KEYS_H

#define PYH_ENVIRON_KEYS(X)                                                     \
    X(REQUEST_METHOD, "REQUEST_METHOD", NULL)                                   \
    X(SCRIPT_NAME, "SCRIPT_NAME", NULL)                                         \
    X(PATH_INFO, "PATH_INFO", NULL)                                             \
    X(QUERY_STRING, "QUERY_STRING", NULL)                                       \
    X(CONTENT_TYPE, "CONTENT_TYPE", NULL)                                       \
    X(CONTENT_LENGTH, "CONTENT_LENGTH", NULL)                                   \
    X(SERVER_NAME, "SERVER_NAME", NULL)                                         \
    X(SERVER_PORT, "SERVER_PORT", NULL)                                         \
    X(SERVER_PROTOCOL, "SERVER_PROTOCOL", NULL)                                 \
    X(REMOTE_ADDR, "REMOTE_ADDR", NULL)                                         \
    X(REMOTE_PORT, "REMOTE_PORT", NULL)                                         \
    X(URL_SCHEME, "wsgi.url_scheme", NULL)                                      \
    X(REQUEST_ID, "pyhost.request_id", NULL)                                    \
    X(HTTP_HOST, "HTTP_HOST", NULL)                                             \
    X(HTTP_USER_AGENT, "HTTP_USER_AGENT", "User-Agent")                         \
    X(HTTP_ACCEPT, "HTTP_ACCEPT", "Accept")                                     \
    X(HTTP_ACCEPT_ENCODING, "HTTP_ACCEPT_ENCODING", "Accept-Encoding")          \
    X(HTTP_ACCEPT_LANGUAGE, "HTTP_ACCEPT_LANGUAGE", "Accept-Language")          \
    X(HTTP_CONNECTION, "HTTP_CONNECTION", "Connection")                         \
    X(HTTP_COOKIE, "HTTP_COOKIE", "Cookie")                                     \
    X(HTTP_REFERER, "HTTP_REFERER", "Referer")                                  \
    X(HTTP_CACHE_CONTROL, "HTTP_CACHE_CONTROL", "Cache-Control")                \
    X(HTTP_ORIGIN, "HTTP_ORIGIN", "Origin")                                     \
    X(HTTP_X_FORWARDED_FOR, "HTTP_X_FORWARDED_FOR", "X-Forwarded-For")          \
    X(HTTP_X_REQUEST_ID, "HTTP_X_REQUEST_ID", "X-Request-Id")

#endif
