// Command demo-backend is the small HTTP service the examples route to. It
// answers every request with a JSON description of what it received, so
// you can see what the ingress forwarded: host, path, headers.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"
	"sort"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9080", "listen `address`")
	name := flag.String("name", "webapp", "service `name` to report in answers")
	flag.Parse()

	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
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
			"service": *name,
			"method":  r.Method,
			"host":    r.Host,
			"path":    r.URL.RequestURI(),
			"headers": headers,
		})
	})
	log.SetOutput(os.Stderr)
	log.Printf("demo-backend %s listening on %s", *name, *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
