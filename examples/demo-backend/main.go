// Command demo-backend is the small service the examples route to. Over
// HTTP (or HTTPS, given a certificate) it answers every request with a
// JSON description of what it received, so you can see what the ingress
// forwarded: host, path, headers. With --echo it is a TCP echo service
// instead, for the TCP example.
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sort"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9080", "listen `address`")
	name := flag.String("name", "webapp", "service `name` to report in answers")
	cert := flag.String("tls-cert", "", "serve HTTPS with this certificate `file` (and --tls-key)")
	key := flag.String("tls-key", "", "the certificate's key `file`")
	echo := flag.Bool("echo", false, "be a TCP echo service: send back every byte received")
	flag.Parse()
	log.SetOutput(os.Stderr)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("demo-backend %s: %v", *name, err)
	}
	log.Printf("demo-backend %s listening on %s", *name, *addr)
	if *echo {
		log.Fatal(serveEcho(ln))
	}
	srv := &http.Server{Handler: describe(*name)}
	if *cert != "" {
		log.Fatal(srv.ServeTLS(ln, *cert, *key))
	}
	log.Fatal(srv.Serve(ln))
}

// describe answers with what the request looked like on arrival.
func describe(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers := map[string]string{}
		keys := make([]string, 0, len(r.Header))
		for k := range r.Header {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			headers[k] = r.Header.Get(k)
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{
			"service": name,
			"method":  r.Method,
			"host":    r.Host,
			"path":    r.URL.RequestURI(),
			"headers": headers,
		})
	})
}

// serveEcho copies each connection's bytes back until the client closes
// its side.
func serveEcho(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}
