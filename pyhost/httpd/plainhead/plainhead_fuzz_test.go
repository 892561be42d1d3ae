package plainhead

import (
	"bufio"
	"bytes"
	"net/http"
	"reflect"
	"testing"
)

// FuzzPlainHead: whatever the bytes, Is never panics; of a head it calls plain, Request makes
// the request http.ReadRequest makes, and fails exactly where http.ReadRequest fails (the fast
// path then hands the connection to net/http): the fast path never answers a head net/http
// would refuse or read differently.
func FuzzPlainHead(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n",
		"GET /a%20b?c=%zz HTTP/1.1\r\nHost: [::1]:80\r\nX-A: 1\r\nx-a: 2\r\n\r\n",
		"HEAD /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"DELETE /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nPragma: no-cache\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
		"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
		"GET / HTTP/1.1\nHost: h\n\n",
		"POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		if !Is(head) {
			return
		}
		want, wantErr := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		got, err := Request(head, &http.Request{})
		if (err != nil) != (wantErr != nil) {
			// Request fails only where net/http refuses the head too (a target that is no
			// request URI): the fast path then hands the connection to net/http.
			t.Fatalf("%q: Request says %v, http.ReadRequest %v", head, err, wantErr)
		}
		if err != nil {
			return
		}
		type view struct {
			Method, URL, RequestURI, Proto, Host string
			Minor                                int
			Header                               http.Header
			Close                                bool
			ContentLength                        int64
		}
		see := func(r *http.Request) view {
			return view{r.Method, r.URL.String(), r.RequestURI, r.Proto, r.Host, r.ProtoMinor,
				r.Header, r.Close, r.ContentLength}
		}
		if g, w := see(got), see(want); !reflect.DeepEqual(g, w) {
			t.Fatalf("%q:\nRequest     %+v\nReadRequest %+v", head, g, w)
		}
	})
}
