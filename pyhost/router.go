package pyhost

import (
	"net/http"
	"sort"
	"strings"
)

// route is a handler at a URL prefix: a WSGI app, a static alias, or (in the supervisor) a
// process group's workers.
type route struct {
	prefix string // "" or "/" matches everything; else no trailing slash
	h      http.Handler
}

// router sends a request to the route at the longest prefix of its path.
type router struct {
	routes []route // longest prefix first
}

func newRouter(routes []route) *router {
	sorted := append([]route(nil), routes...)
	for i := range sorted {
		if sorted[i].prefix == "/" {
			sorted[i].prefix = ""
		}
	}
	sort.SliceStable(sorted, func(i, j int) bool {
		return len(sorted[i].prefix) > len(sorted[j].prefix)
	})
	return &router{routes: sorted}
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	for _, e := range rt.routes {
		p := e.prefix
		if p == "" || path == p || strings.HasPrefix(path, p) && path[len(p)] == '/' {
			e.h.ServeHTTP(w, r)
			return
		}
	}
	http.NotFound(w, r)
}
