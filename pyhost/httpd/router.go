package httpd

import (
	"net/http"
	"sort"
	"strings"
)

// Route is a handler at a URL prefix: a WSGI app, a static alias, or (in the supervisor's
// front end) a process group's workers.
type Route struct {
	Prefix  string // "" or "/" matches every path; else no trailing slash
	Handler http.Handler
}

// Router sends a request to the route at the longest prefix of its path, and answers 404
// when none matches. A prefix matches the path itself and the paths below it: /app matches
// /app and /app/x, not /apple.
type Router struct {
	routes []Route // longest prefix first
}

// NewRouter makes a router over routes (in any order).
func NewRouter(routes []Route) *Router {
	sorted := append([]Route(nil), routes...)
	for i := range sorted {
		if sorted[i].Prefix == "/" {
			sorted[i].Prefix = ""
		}
	}
	sort.SliceStable(sorted, func(i, j int) bool {
		return len(sorted[i].Prefix) > len(sorted[j].Prefix)
	})
	return &Router{routes: sorted}
}

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	for _, e := range rt.routes {
		p := e.Prefix
		if p == "" || path == p || strings.HasPrefix(path, p) && path[len(p)] == '/' {
			e.Handler.ServeHTTP(w, r)
			return
		}
	}
	http.NotFound(w, r)
}
