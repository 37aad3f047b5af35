package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"time"
)

// waitFirst200 sends GET /api/x for host over a fresh connection as soon as
// addr accepts, retrying every 200µs, until one answers 200.
func waitFirst200(addr, host string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	req := fmt.Sprintf("GET /api/x HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host)
	var last error
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			last = err
			time.Sleep(200 * time.Microsecond)
			continue
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		_, err = c.Write([]byte(req))
		if err == nil {
			var resp *http.Response
			resp, err = http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					c.Close()
					return nil
				}
				err = fmt.Errorf("status %s", resp.Status)
			}
		}
		c.Close()
		last = err
		time.Sleep(200 * time.Microsecond)
	}
	return fmt.Errorf("no 200 from %s after %s: %v", addr, timeout, last)
}
