// Command rolloutload measures a rolling replacement of pyhost pods on loopback
// (scripts/bench/rollout.sh). Two modes:
//
//	rolloutload balance -listen ADDR -backends FILE
//	    a TCP balancer as kube-proxy is one: each new connection goes to the next backend of
//	    FILE (HOST:PORT a line, re-read on SIGHUP), and keeps it until it closes, also after
//	    that backend left FILE.
//	rolloutload load -url URL -c N -d DURATION [-get] [-close]
//	    N clients for DURATION: POSTs (which net/http never retries) or GETs (which it retries
//	    on a kept-alive connection the server closed), on kept-alive connections or a new one
//	    per request; each failure is printed with its time, then the totals.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: rolloutload balance|load [flags]")
	}
	switch os.Args[1] {
	case "balance":
		balance(os.Args[2:])
	case "load":
		load(os.Args[2:])
	default:
		log.Fatalf("rolloutload: unknown mode %q (balance, load)", os.Args[1])
	}
}

func balance(args []string) {
	fs := flag.NewFlagSet("balance", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:18600", "address to accept on")
	file := fs.String("backends", "backends", "file of HOST:PORT lines, re-read on SIGHUP")
	fs.Parse(args)
	var mu sync.Mutex
	var backends []string
	read := func() {
		b, err := os.ReadFile(*file)
		if err != nil {
			log.Fatal(err)
		}
		mu.Lock()
		backends = strings.Fields(string(b))
		mu.Unlock()
		log.Printf("backends %v", backends)
	}
	read()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			read()
		}
	}()
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	var n atomic.Int64
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		mu.Lock()
		b := backends[int(n.Add(1))%len(backends)]
		mu.Unlock()
		go splice(c, b)
	}
}

// splice carries c's bytes to backend b and back until either side closes.
func splice(c net.Conn, b string) {
	defer c.Close()
	u, err := net.Dial("tcp", b)
	if err != nil {
		log.Printf("dial %s: %v", b, err)
		return
	}
	defer u.Close()
	go func() {
		io.Copy(u, c)
		u.(*net.TCPConn).CloseWrite()
	}()
	io.Copy(c, u)
}

func load(args []string) {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:18600/", "URL to ask")
	clients := fs.Int("c", 16, "clients")
	d := fs.Duration("d", 30*time.Second, "duration")
	get := fs.Bool("get", false, "GET instead of POST")
	closeConn := fs.Bool("close", false, "a new connection per request")
	fs.Parse(args)
	client := &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: *clients, DisableKeepAlives: *closeConn}}
	var ok, failed atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	end := time.Now().Add(*d)
	for range *clients {
		wg.Go(func() {
			for time.Now().Before(end) {
				if err := ask(client, *url, *get); err != nil {
					failed.Add(1)
					mu.Lock()
					fmt.Println(time.Now().Format("15:04:05.000"), err)
					mu.Unlock()
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	fmt.Printf("requests %d ok, %d failed\n", ok.Load(), failed.Load())
}

// ask sends one request and reads its answer: an error unless 200.
func ask(client *http.Client, url string, get bool) error {
	var resp *http.Response
	var err error
	if get {
		resp, err = client.Get(url)
	} else {
		resp, err = client.Post(url, "text/plain", nil)
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
