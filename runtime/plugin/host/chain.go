package host

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	gwcrt "github.com/gwc-dev/gwc/runtime"
	"github.com/gwc-dev/gwc/runtime/plugin/sdk"
)

var (
	_ gwcrt.Plugins        = (*Chain)(nil)
	_ gwcrt.PluginFailures = (*Chain)(nil)
)

// Restart backoff: 100ms doubling to at most 10s.
const (
	restartBase = 100 * time.Millisecond
	restartMax  = 10 * time.Second
	// watchEvery is how often a plugin's process is checked for exit when
	// no call has noticed it.
	watchEvery = 100 * time.Millisecond
)

// DefaultTimeout bounds a call when a Spec has no Timeout; the compiler's
// default is the same.
const DefaultTimeout = 200 * time.Millisecond

// Chain is the ordered list of plugins of an ingress.
type Chain struct {
	plugins []*plugin
	log     *slog.Logger
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// plugin is one GatewayPlugin and its current process.
type plugin struct {
	spec  Spec
	chain *Chain
	log   *slog.Logger
	cur   atomic.Pointer[instance] // nil while down

	// FailedOpen counts requests let through because the plugin was down
	// or late; FailedClosed those answered 503 for that reason.
	failedOpen, failedClosed atomic.Uint64
}

// New returns a chain of specs, in the order their hooks run.
func New(specs []Spec) *Chain {
	c := &Chain{stop: make(chan struct{}), log: slog.Default()}
	for _, s := range specs {
		if s.Timeout <= 0 {
			s.Timeout = DefaultTimeout
		}
		c.plugins = append(c.plugins, &plugin{spec: s, chain: c})
	}
	return c
}

// Start starts every plugin, in order, and returns the first failure,
// naming the plugin.
func (c *Chain) Start(log *slog.Logger) error {
	c.log = log
	for _, p := range c.plugins {
		p.log = log.With("plugin", p.spec.Name)
		inst, err := launch(&p.spec, log)
		if err != nil {
			return fmt.Errorf("plugin %s: %w", p.spec.Name, err)
		}
		p.cur.Store(inst)
		p.log.Info("plugin started", "path", p.spec.Path, "phase", p.spec.Phase, "priority", p.spec.Priority)
		c.wg.Add(1)
		go p.watch()
	}
	return nil
}

// Stop kills every plugin process and waits for the supervisors.
func (c *Chain) Stop() {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
	for _, p := range c.plugins {
		if inst := p.cur.Swap(nil); inst != nil {
			inst.client.Kill()
		}
		if p.log != nil {
			p.log.Info("plugin stopped", "failed_open", p.failedOpen.Load(), "failed_closed", p.failedClosed.Load())
		}
	}
}

// Specs returns the specs of the chain in the order their hooks run, with
// defaults applied (Timeout).
func (c *Chain) Specs() []Spec {
	out := make([]Spec, len(c.plugins))
	for i, p := range c.plugins {
		out[i] = p.spec
	}
	return out
}

// Failures implements runtime.PluginFailures: the requests each plugin's
// failStrategy decided.
func (c *Chain) Failures(f func(plugin, failStrategy string, requests uint64)) {
	for _, p := range c.plugins {
		n := p.failedClosed.Load()
		if p.spec.FailOpen {
			n = p.failedOpen.Load()
		}
		f(p.spec.Name, p.strategy(), n)
	}
}

// Counts returns how many requests plugin i let through (FAIL_OPEN) and
// answered 503 (FAIL_CLOSE) while it was down or late.
func (c *Chain) Counts(i int) (failedOpen, failedClosed uint64) {
	p := c.plugins[i]
	return p.failedOpen.Load(), p.failedClosed.Load()
}

// watch notices the process exiting and restarts it with backoff until the
// chain stops.
func (p *plugin) watch() {
	defer p.chain.wg.Done()
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-p.chain.stop:
			return
		case <-t.C:
		}
		inst := p.cur.Load()
		if inst != nil && !inst.client.Exited() {
			continue
		}
		if inst != nil {
			p.down(inst)
		}
		p.restart()
	}
}

// down takes inst out of service once.
func (p *plugin) down(inst *instance) {
	if p.cur.CompareAndSwap(inst, nil) {
		p.log.Warn("plugin exited; restarting it", "strategy", p.strategy())
		inst.client.Kill()
	}
}

// restart launches the plugin again, backing off between failures.
func (p *plugin) restart() {
	delay := restartBase
	for attempt := 1; ; attempt++ {
		select {
		case <-p.chain.stop:
			return
		case <-time.After(delay):
		}
		inst, err := launch(&p.spec, p.chain.log)
		if err == nil {
			select {
			case <-p.chain.stop:
				inst.client.Kill()
			default:
				p.cur.Store(inst)
				p.log.Info("plugin restarted", "attempt", attempt)
			}
			return
		}
		p.log.Error("restarting plugin", "attempt", attempt, "err", err)
		delay = min(2*delay, restartMax)
	}
}

func (p *plugin) strategy() string {
	if p.spec.FailOpen {
		return "FAIL_OPEN"
	}
	return "FAIL_CLOSE"
}

// Request implements runtime.Plugins.
func (c *Chain) Request(w http.ResponseWriter, r *http.Request, port int, route string) (http.ResponseWriter, bool) {
	var req *sdk.Request
	var after []*plugin
	for _, p := range c.plugins {
		if !p.spec.Selects(port, r.Host, route) {
			continue
		}
		if req == nil {
			req = describe(r, port, route)
		}
		inst := p.cur.Load()
		if inst == nil {
			if p.failed(w, r, errors.New("plugin is down")) {
				return w, true
			}
			continue
		}
		ctx, cancel := context.WithTimeout(r.Context(), p.spec.Timeout)
		act, err := inst.filter.OnRequest(ctx, req)
		cancel()
		if err != nil {
			p.callFailed(inst, err)
			if p.failed(w, r, err) {
				return w, true
			}
			continue
		}
		switch act.Verdict {
		case sdk.VerdictDeny, sdk.VerdictRedirect:
			localReply(w, act)
			return w, true
		}
		applyHeaders(r.Header, act)
		if len(act.SetHeaders) > 0 || len(act.RemoveHeaders) > 0 {
			req.Headers = r.Header // later plugins see the mutation
		}
		if inst.response {
			after = append(after, p)
		}
	}
	if len(after) == 0 {
		return w, false
	}
	return &responseWriter{ResponseWriter: w, plugins: after, req: req, ctx: r.Context()}, false
}

// callFailed takes the instance out of service when the process is gone.
// A deadline passing is not a crash: the plugin stays.
func (p *plugin) callFailed(inst *instance, err error) {
	if status.Code(err) == codes.DeadlineExceeded {
		return
	}
	if inst.client.Exited() {
		p.down(inst)
	}
}

// failed applies the failStrategy; true means the request was answered.
// A client that went away is not the plugin's failure: the request just
// ends.
func (p *plugin) failed(w http.ResponseWriter, r *http.Request, err error) bool {
	if r.Context().Err() != nil {
		return true
	}
	if p.spec.FailOpen {
		p.failedOpen.Add(1)
		p.log.Debug("plugin failed; letting the request through (FAIL_OPEN)", "err", err)
		return false
	}
	p.failedClosed.Add(1)
	// The access log and istio_requests_total carry the failure as Envoy's
	// UAEX flag; a warning per request would flood the log while a plugin
	// is down.
	p.log.Debug("plugin failed; answering 503 (FAIL_CLOSE)", "method", r.Method, "path", r.URL.Path, "err", err)
	gwcrt.MarkPluginFailed(w)
	const body = "plugin unavailable"
	h := w.Header()
	h["Server"] = []string{"istio-envoy"}
	h["Content-Type"] = []string{"text/plain"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(body))
	return true
}

// describe builds what plugins see of r.
func describe(r *http.Request, port int, route string) *sdk.Request {
	req := &sdk.Request{
		Method:     r.Method,
		Scheme:     "http",
		Host:       r.Host,
		Path:       r.URL.Path,
		Query:      r.URL.RawQuery,
		Headers:    r.Header,
		ClientAddr: r.RemoteAddr,
		Port:       port,
		Route:      route,
	}
	if r.TLS != nil {
		req.Scheme = "https"
		req.TLS = &sdk.TLSInfo{ServerName: r.TLS.ServerName, Version: tls.VersionName(r.TLS.Version)}
		if len(r.TLS.PeerCertificates) > 0 {
			cert := r.TLS.PeerCertificates[0]
			req.TLS.PeerSubject = cert.Subject.String()
			req.TLS.PeerSANs = append(req.TLS.PeerSANs, cert.DNSNames...)
			for _, u := range cert.URIs {
				req.TLS.PeerSANs = append(req.TLS.PeerSANs, u.String())
			}
		}
	}
	return req
}

func applyHeaders(h http.Header, act sdk.Action) {
	for _, name := range act.RemoveHeaders {
		h.Del(name)
	}
	for name, v := range act.SetHeaders {
		h.Set(name, v)
	}
}

// localReply answers a deny or redirect.
func localReply(w http.ResponseWriter, act sdk.Action) {
	h := w.Header()
	for name, v := range act.SetHeaders {
		h.Set(name, v)
	}
	h["Server"] = []string{"istio-envoy"}
	code := act.Status
	if act.Verdict == sdk.VerdictRedirect {
		if code == 0 {
			code = http.StatusFound
		}
		h.Set("Location", act.Location)
	} else if code == 0 {
		code = http.StatusForbidden
	}
	if code < 200 || code > 599 {
		code = http.StatusForbidden
	}
	if act.Body != "" {
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "text/plain")
		}
		h.Set("Content-Length", strconv.Itoa(len(act.Body)))
	}
	w.WriteHeader(code)
	if act.Body != "" {
		_, _ = w.Write([]byte(act.Body))
	}
}
