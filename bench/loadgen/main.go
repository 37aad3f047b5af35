// Command loadgen sends GET requests over keep-alive connections for a
// fixed time and prints requests per second and the bytes received; the
// compression benchmark (bench/compress-vs-nginx.sh) drives it.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "", "URL to request")
	host := flag.String("host", "", "Host header")
	accept := flag.String("accept-encoding", "gzip", "Accept-Encoding header")
	conns := flag.Int("c", 8, "concurrent connections")
	dur := flag.Duration("d", 5*time.Second, "how long to send")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -url is required")
		os.Exit(2)
	}
	var reqs, bytes, fails atomic.Int64
	var encoding, firstErr atomic.Value
	encoding.Store("")
	deadline := time.Now().Add(*dur)
	var wg sync.WaitGroup
	for range *conns {
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}}
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest("GET", *url, nil)
				req.Host = *host
				req.Header.Set("Accept-Encoding", *accept)
				resp, err := c.Do(req)
				if err != nil {
					fails.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					fails.Add(1)
					firstErr.CompareAndSwap(nil, resp.Status)
					continue
				}
				encoding.Store(resp.Header.Get("Content-Encoding"))
				reqs.Add(1)
				bytes.Add(n)
			}
		})
	}
	wg.Wait()
	secs := dur.Seconds()
	fmt.Printf("%d requests, %.0f req/s, %.0f bytes/response, content-encoding %q, %d failed\n",
		reqs.Load(), float64(reqs.Load())/secs, float64(bytes.Load())/float64(max(reqs.Load(), 1)), encoding.Load(), fails.Load())
	if e := firstErr.Load(); e != nil {
		fmt.Printf("first failure: %s\n", e)
	}
}
