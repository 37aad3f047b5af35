package runtime

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
)

// The lean path proxies a request without a body to a cluster served by
// the forwarder without httputil.ReverseProxy: ReverseProxy clones the
// inbound request (URL, header map and every value), copies the response
// headers one Add at a time and wraps the request's context in a client
// trace for 1xx responses, per request. Here the outbound request, its URL
// and its header map come from a pool and the inbound header values are
// shared (nothing on this path writes into a value slice: every change
// assigns a new one); the 1xx hook is handed to the forwarder directly;
// the response headers are moved into the client's header map by slice.
// Everything else is ReverseProxy's behaviour, step for step: the same
// hop-by-hop removal in both directions, the same rewrite hook, retry
// loop, response hook and error handler, the same body copy, trailers and
// abort on a copy error. Any other request (a body, Expect, Upgrade,
// CONNECT, a client trace already in the context) and any cluster the
// forwarder does not serve go through ReverseProxy.

// leanable reports whether r may take the lean path (the proxy's cluster
// being the forwarder's).
func leanable(r *http.Request) bool {
	if r.ContentLength != 0 || r.Body != nil && r.Body != http.NoBody || r.Method == http.MethodConnect {
		return false
	}
	if _, ok := r.Header["Upgrade"]; ok {
		return false
	}
	if _, ok := r.Header["Expect"]; ok {
		return false
	}
	return httptrace.ContextClientTrace(r.Context()) == nil
}

// hopHeaders are the hop-by-hop headers ReverseProxy removes besides
// those Connection names.
var hopHeaders = [...]string{
	"Connection",
	"Proxy-Connection",
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

var valTrailers = []string{"trailers"}

// removeHopByHop removes the headers Connection names and the hop-by-hop
// headers from h.
func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				delete(h, textproto.CanonicalMIMEHeaderKey(sf))
			}
		}
	}
	for _, f := range hopHeaders {
		delete(h, f)
	}
}

// containsToken reports whether one of the comma-separated elements of
// values is token, ignoring case and surrounding blanks.
func containsToken(values []string, token string) bool {
	for _, v := range values {
		for el := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.Trim(el, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// leanState is what one request on the lean path needs besides the
// stack; it is pooled.
type leanState struct {
	req http.Request
	url url.URL
	h   http.Header
	rt  leanTransport
	// fw is the writer of the response, boxed once as &fw; trace reports
	// 1xx responses to it until done.
	fw    flushWriter
	trace httptrace.ClientTrace
	// vals backs the values rewriteRequest sets.
	vals [2]string
	// body and rb are the response body of each try: the forwarder's and
	// attempt's wrapper; a try's body is closed before the next try.
	body fbody
	rb   releaseBody
	mu   sync.Mutex
	done bool
	// escaped says something outside this goroutine may still use the
	// state (the fallback transport got the request): it is not reused.
	escaped bool
}

var leanPool = sync.Pool{New: func() any {
	st := &leanState{h: make(http.Header, 16)}
	st.rt.st = st
	st.trace.Got1xxResponse = st.got1xx
	return st
}}

// build returns the outbound request for r as ReverseProxy's clone would
// be once it stripped the hop-by-hop and forwarding headers.
func (st *leanState) build(r *http.Request) *http.Request {
	st.req = *r
	out := &st.req
	st.url = *r.URL
	out.URL = &st.url
	h := st.h
	for k, vv := range r.Header {
		h[k] = vv
	}
	out.Header = h
	out.Body = nil
	out.Close = false
	removeHopByHop(h)
	if containsToken(r.Header["Te"], "trailers") {
		h["Te"] = valTrailers
	}
	delete(h, "Forwarded")
	delete(h, "X-Forwarded-For")
	delete(h, "X-Forwarded-Host")
	delete(h, "X-Forwarded-Proto")
	return out
}

// release returns st to the pool unless it escaped.
func (st *leanState) release() {
	if st.escaped {
		return
	}
	clear(st.h)
	st.req = http.Request{}
	st.url = url.URL{}
	st.fw, st.vals, st.done, st.rt.f = flushWriter{}, [2]string{}, false, nil
	st.body.pc, st.body.rc, st.body.ctx, st.body.stop = nil, nil, nil, nil
	st.rb.rc, st.rb.h, st.rb.cb = nil, nil, nil
	leanPool.Put(st)
}

// got1xx passes an interim response on to the client, as ReverseProxy's
// trace does.
func (st *leanState) got1xx(code int, header textproto.MIMEHeader) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return nil
	}
	h := st.fw.Header()
	for k, vv := range header {
		for _, v := range vv {
			h.Add(k, v)
		}
	}
	st.fw.WriteHeader(code)
	// WriteHeader does not clear the map for a 1xx response.
	clear(h)
	return nil
}

// leanTransport sends a lean request through the forwarder with the
// state's 1xx hook, without putting a trace in the request's context.
type leanTransport struct {
	f  *forwarder
	st *leanState
}

func (t *leanTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if tr, ok := t.f.forwardable(req); ok && tr == nil {
		return t.f.forward(req, &t.st.trace, &t.st.body)
	}
	// Not expected for a lean request; the fallback reports 1xx through
	// the context, and may outlive the request.
	t.st.escaped = true
	return t.f.fallback.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), &t.st.trace)))
}

var errLeanUpgrade = errors.New("upstream switched protocols when none was requested")

// serveLean proxies r, a leanable request, as ReverseProxy would.
func (p *proxy) serveLean(rw http.ResponseWriter, r *http.Request) {
	st := leanPool.Get().(*leanState)
	st.fw, st.rt.f = flushWriter{rw}, p.fwd
	w := &st.fw
	out := st.build(r)
	p.rewriteRequest(r, out, st.vals[:])
	res, err := p.roundTripRetrying(out, &st.rt)
	st.mu.Lock()
	st.done = true
	st.mu.Unlock()
	if err != nil {
		p.fail(w, out, err)
		st.release()
		return
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		// ReverseProxy refuses an upgrade nobody asked for.
		res.Body.Close()
		p.fail(w, out, errLeanUpgrade)
		st.release()
		return
	}
	removeHopByHop(res.Header)
	if p.rp.ModifyResponse != nil {
		if err := p.rp.ModifyResponse(res); err != nil {
			res.Body.Close()
			p.fail(w, out, err)
			st.release()
			return
		}
	}
	moveHeader(w.Header(), res.Header)
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		w.Header().Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)
	if (res.ContentLength == -1 || isEventStream(res.Header)) && bodyPending(res.Body) {
		// ReverseProxy has a timer flush these headers at once; it fires
		// once the copy waits for the upstream. Until then the first write
		// goes with the headers (and sets Content-Type when none came).
		w.Flush()
	}
	buf := p.pool.Get()
	err = p.copyBody(w, res.Body, buf)
	p.pool.Put(buf)
	if err != nil {
		defer res.Body.Close()
		// All that can be done mid-stream is to abort the response, as
		// ReverseProxy does when a server runs the handler.
		if r.Context().Value(http.ServerContextKey) != nil {
			panic(http.ErrAbortHandler)
		}
		p.log.Debug("proxy: copying the response body", "err", err)
		return
	}
	res.Body.Close() // now, to have res.Trailer
	if len(res.Trailer) > 0 {
		// Chunked, so that the trailers can follow.
		w.Flush()
	}
	h := w.Header()
	if len(res.Trailer) == announced {
		for k, vv := range res.Trailer {
			for _, v := range vv {
				h.Add(k, v)
			}
		}
	} else {
		for k, vv := range res.Trailer {
			k = http.TrailerPrefix + k
			for _, v := range vv {
				h.Add(k, v)
			}
		}
	}
	st.release()
}

// bodyPending reports whether reading body may wait for the upstream:
// nothing of it is buffered yet. It only knows the forwarder's bodies.
func bodyPending(body io.ReadCloser) bool {
	rb, ok := body.(*releaseBody)
	if !ok {
		return true
	}
	if rb.rc == http.NoBody {
		return false
	}
	fb, ok := rb.rc.(*fbody)
	return !ok || fb.pc.br.Buffered() == 0
}

// moveHeader gives dst the values of src, as Add would one by one, but
// assigning src's slices (capped, so that a later append copies) where
// dst has none.
func moveHeader(dst, src http.Header) {
	for k, vv := range src {
		if len(vv) == 0 {
			continue
		}
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if prior := dst[ck]; len(prior) > 0 {
			dst[ck] = append(prior, vv...)
		} else {
			dst[ck] = vv[:len(vv):len(vv)]
		}
	}
}

// isEventStream reports whether h declares a server-sent event stream.
func isEventStream(h http.Header) bool {
	ct := h.Get("Content-Type")
	if !containsFold(ct, "event-stream") {
		return false
	}
	base, _, _ := mime.ParseMediaType(ct)
	return base == "text/event-stream"
}

// containsFold reports whether s contains sub (lower-case ASCII) in any
// case.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// copyBody copies the response body to w with buf, as ReverseProxy's copy
// loop does; w flushes every write.
func (p *proxy) copyBody(w io.Writer, src io.Reader, buf []byte) error {
	for {
		nr, rerr := src.Read(buf)
		if rerr != nil && rerr != io.EOF && rerr != context.Canceled {
			p.log.Debug("proxy: reading the response body", "err", rerr)
		}
		if nr > 0 {
			nw, werr := w.Write(buf[:nr])
			if werr != nil {
				return werr
			}
			if nr != nw {
				return io.ErrShortWrite
			}
		}
		if rerr != nil {
			if rerr == io.EOF {
				return nil
			}
			return rerr
		}
	}
}
