package runtime

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Request mirroring, as Envoy's request_mirror_policies: a copy of the
// request goes to each mirror cluster for its share of requests, fire and
// forget; its response is dropped, its failure ignored. The copy's
// authority gets Envoy's "-shadow" suffix.
//
// Side work stays bounded: a copy goes through the mirror cluster's
// circuit breakers like any request to it, and at most
// --max-mirror-requests copies are in flight in the whole process. A copy
// past either bound is dropped and counted
// (gwc_mirror_requests_dropped_total); the request itself never waits for
// a mirror.

// mirrorBodyLimit bounds the body kept for mirrors (Envoy's buffer limit
// as Istio sets it); a longer request is not mirrored.
const mirrorBodyLimit = 1 << 20

// mirrorTimeout bounds a mirrored request, which nobody waits for.
const mirrorTimeout = 30 * time.Second

// shadowHost appends "-shadow" to the host part of an authority.
func shadowHost(host string) string {
	if h, port, err := net.SplitHostPort(host); err == nil {
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		return h + "-shadow:" + port
	}
	return host + "-shadow"
}

// mirrorGate counts the mirrored requests in flight in the process.
type mirrorGate struct {
	inflight atomic.Int64
	limit    atomic.Int64 // --max-mirror-requests
}

func (g *mirrorGate) take() bool {
	if g.inflight.Add(1) > g.limit.Load() {
		g.inflight.Add(-1)
		return false
	}
	return true
}

func (g *mirrorGate) done() { g.inflight.Add(-1) }

// Why a mirror copy was dropped, the reason label of
// gwc_mirror_requests_dropped_total.
const (
	mirrorDropLimit    = iota // --max-mirror-requests reached
	mirrorDropOverflow        // the mirror cluster's circuit breaker
	mirrorDropReasons
)

var mirrorDropNames = [mirrorDropReasons]string{"limit", "overflow"}

// mirror sends copies of out, the request as it goes upstream, to the
// route's mirrors. body holds the whole request body (nil for none).
func (e *engine) mirror(rt *Route, out *http.Request, body []byte) {
	for i := range rt.Mirrors {
		m := &rt.Mirrors[i]
		if !fires(m.Percent) || m.Cluster < 0 || m.Cluster >= len(e.ups) {
			continue
		}
		up := e.ups[m.Cluster]
		if !e.mirrors.take() {
			up.mirrorDrops[mirrorDropLimit].Add(1)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), mirrorTimeout)
		req := out.Clone(ctx)
		req.Host = shadowHost(out.Host)
		req.RequestURI = ""
		if body != nil {
			req.Body = io.NopCloser(bytes.NewReader(body))
			req.ContentLength = int64(len(body))
		} else {
			req.Body = http.NoBody
		}
		go func() {
			defer e.mirrors.done()
			defer cancel()
			set := up.endpoints(ctx)
			if len(set.addrs) == 0 {
				return
			}
			req.URL.Scheme = "http"
			resp, _, err := up.attempt(e.transports[m.Cluster], req, set, nil, up.hashKey(req))
			if errors.Is(err, errOverloaded) {
				up.mirrorDrops[mirrorDropOverflow].Add(1)
			}
			if err != nil {
				e.log.Debug("mirror request failed", "cluster", up.cluster.Name, "err", err)
				return
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}()
	}
}

// mirrorBody reads the whole body of r for the mirrors and puts it back;
// it returns nil when r has no body, and false when the body is too long
// to keep (or failed to read), in which case nothing is mirrored.
func mirrorBody(r *http.Request) ([]byte, bool) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, true
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, mirrorBodyLimit+1))
	rest := r.Body
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(data), rest), rest}
	if err != nil || len(data) > mirrorBodyLimit {
		return nil, false
	}
	return data, true
}
