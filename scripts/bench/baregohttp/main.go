// Command baregohttp is the ceiling for scripts/bench/peers.sh: a bare net/http
// handler that answers every request with the same status, headers and body as
// testdata/hello.py, with no Python involved.
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
)

var body = []byte("Hello, World!\n")

func hello(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h["Content-Type"] = []string{"text/plain"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on (host:port)")
	flag.Parse()
	log.Fatal(http.ListenAndServe(*listen, http.HandlerFunc(hello)))
}
