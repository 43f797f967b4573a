// Command hello is the app to put in a container: an HTTP server that
// answers "hello from <host>" on / and "ok" on /healthz.
//
// It needs only Go's standard library, so it builds without a go.mod:
//
//	CGO_ENABLED=0 go build -o hello main.go
//
// Flags: -addr (default :8080, or :$PORT). With -health it asks the
// server's /healthz on -addr and exits 0 if it answered ok, 1 if not: a
// HEALTHCHECK for images that have no shell or curl (distroless, scratch).
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"
)

// version is set at build time: go build -ldflags "-X main.version=1.0.0".
var version = "dev"

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	addr := flag.String("addr", ":"+port, "listen address")
	health := flag.Bool("health", false, "check a running server's /healthz and exit")
	flag.Parse()

	if *health {
		host := *addr
		if strings.HasPrefix(host, ":") {
			host = "127.0.0.1" + host
		}
		client := http.Client{Timeout: 2 * time.Second}
		resp, err := client.Get("http://" + host + "/healthz")
		if err != nil || resp.StatusCode != http.StatusOK {
			os.Exit(1)
		}
		os.Exit(0)
	}

	hostname, _ := os.Hostname()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s (version %s)\n", hostname, version)
	})
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 5 * time.Second}
	log.Printf("hello %s listening on %s", version, *addr)
	log.Fatal(srv.ListenAndServe())
}
