// Command backend is the one fixed upstream of the benchmarks: every proxy
// under test, and the "direct" target, talk to the same process. It answers
// any GET with a fixed body of 100 bytes, or 1 MiB when the path starts
// with /big/, so the backend's own cost is the same for every target and as
// small as net/http allows.
package main

import (
	"bytes"
	"flag"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:19000", "listen `address`")
	flag.Parse()

	small := bytes.Repeat([]byte("x"), 99)
	small = append(small, '\n')
	big := bytes.Repeat([]byte("0123456789abcde\n"), (1<<20)/16)
	smallLen, bigLen := []string{strconv.Itoa(len(small))}, []string{strconv.Itoa(len(big))}
	textPlain := []string{"text/plain"}

	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, n := small, smallLen
		if strings.HasPrefix(r.URL.Path, "/big/") {
			body, n = big, bigLen
		}
		hdr := w.Header()
		hdr["Content-Type"] = textPlain
		hdr["Content-Length"] = n
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: *addr, Handler: h, IdleTimeout: time.Hour, ReadHeaderTimeout: time.Minute}
	log.Printf("bench backend listening on %s", *addr)
	log.Fatal(srv.ListenAndServe())
}
