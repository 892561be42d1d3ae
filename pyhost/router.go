package pyhost

import (
	"net/http"
	"sort"
	"strings"

	"github.com/pyhost/pyhost/wsgi"
)

// router sends a request to the app mounted at the longest prefix of its path.
type router struct {
	mounts []*wsgi.Handler // longest ScriptName first
}

func newRouter(handlers []*wsgi.Handler) *router {
	sorted := append([]*wsgi.Handler(nil), handlers...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return len(sorted[i].ScriptName) > len(sorted[j].ScriptName)
	})
	return &router{mounts: sorted}
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	for _, h := range rt.mounts {
		sn := h.ScriptName
		if sn == "" || path == sn || strings.HasPrefix(path, sn) && path[len(sn)] == '/' {
			h.ServeHTTP(w, r)
			return
		}
	}
	http.NotFound(w, r)
}
