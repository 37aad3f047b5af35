package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// retryOn is a set of Envoy retry conditions.
type retryOn uint32

const (
	retry5xx retryOn = 1 << iota
	retryGatewayError
	retryReset
	retryResetBeforeRequest
	retryConnectFailure
	retryRetriable4xx
	retryRefusedStream
	retryRetriableStatusCodes
	retryRetriableHeaders
	retryEnvoyRateLimited
	retryHTTP3PostConnectFailure
	retryGRPCCancelled
	retryGRPCDeadlineExceeded
	retryGRPCInternal
	retryGRPCResourceExhausted
	retryGRPCUnavailable
)

var retryNames = map[string]retryOn{
	"5xx":                        retry5xx,
	"gateway-error":              retryGatewayError,
	"reset":                      retryReset,
	"reset-before-request":       retryResetBeforeRequest,
	"connect-failure":            retryConnectFailure,
	"retriable-4xx":              retryRetriable4xx,
	"refused-stream":             retryRefusedStream,
	"retriable-status-codes":     retryRetriableStatusCodes,
	"retriable-headers":          retryRetriableHeaders,
	"envoy-ratelimited":          retryEnvoyRateLimited,
	"http3-post-connect-failure": retryHTTP3PostConnectFailure,
	"cancelled":                  retryGRPCCancelled,
	"deadline-exceeded":          retryGRPCDeadlineExceeded,
	"internal":                   retryGRPCInternal,
	"resource-exhausted":         retryGRPCResourceExhausted,
	"unavailable":                retryGRPCUnavailable,
}

// onHTTPResponse and onGRPCResponse are the conditions that look at a
// response, for which the request body must be kept to send it again.
const (
	onHTTPResponse = retry5xx | retryGatewayError | retryRetriable4xx | retryEnvoyRateLimited
	onGRPCResponse = retryGRPCCancelled | retryGRPCDeadlineExceeded | retryGRPCInternal |
		retryGRPCResourceExhausted | retryGRPCUnavailable
)

// keepsBody reports whether req's body must be kept for a retry after a
// response: some condition can fire on one. Istio's default policy only
// has gRPC conditions and no status codes, so plain HTTP bodies are not
// copied by default.
func (p *RetryPolicy) keepsBody(req *http.Request) bool {
	if p.Attempts == 0 {
		return false
	}
	if p.on&onHTTPResponse != 0 || (p.on&retryRetriableStatusCodes != 0 && len(p.StatusCodes) > 0) {
		return true
	}
	return p.on&onGRPCResponse != 0 && strings.HasPrefix(req.Header.Get("Content-Type"), "application/grpc")
}

func (p *RetryPolicy) prepare() error {
	p.on = 0
	var errs []error
	for _, name := range p.On {
		bit, ok := retryNames[name]
		if !ok {
			errs = append(errs, fmt.Errorf("unknown retry condition %q", name))
		}
		p.on |= bit
	}
	if p.Attempts < 0 {
		errs = append(errs, errors.New("negative retry attempts"))
	}
	for _, c := range p.StatusCodes {
		if c < 100 || c > 599 {
			errs = append(errs, fmt.Errorf("retriable status code %d out of range", c))
		}
	}
	return errors.Join(errs...)
}

// retryFailure reports whether a try that failed without a response may be
// retried. connect says the connection was never made (nothing was sent);
// timeout says the per-try timeout expired.
func (p *RetryPolicy) retryFailure(connect, timeout bool) bool {
	switch {
	case timeout:
		return p.on&(retry5xx|retryGatewayError|retryReset) != 0
	case connect:
		return p.on&(retry5xx|retryGatewayError|retryReset|retryResetBeforeRequest|retryConnectFailure) != 0
	}
	return p.on&(retry5xx|retryGatewayError|retryReset) != 0
}

// retryResponse reports whether a response asks for a retry under p.
func (p *RetryPolicy) retryResponse(resp *http.Response) bool {
	code := resp.StatusCode
	switch {
	case p.on&retry5xx != 0 && code >= 500 && code <= 599:
		return true
	case p.on&retryGatewayError != 0 && (code == 502 || code == 503 || code == 504):
		return true
	case p.on&retryRetriable4xx != 0 && code == 409:
		return true
	case p.on&retryRetriableStatusCodes != 0 && slices.Contains(p.StatusCodes, code):
		return true
	case p.on&retryEnvoyRateLimited != 0 && resp.Header.Get("X-Envoy-Ratelimited") != "":
		return true
	}
	if p.on&(retryGRPCCancelled|retryGRPCDeadlineExceeded|retryGRPCInternal|retryGRPCResourceExhausted|retryGRPCUnavailable) != 0 {
		if v := resp.Header.Get("Grpc-Status"); v != "" {
			n, _ := strconv.Atoi(v)
			switch {
			case n == 1 && p.on&retryGRPCCancelled != 0,
				n == 4 && p.on&retryGRPCDeadlineExceeded != 0,
				n == 13 && p.on&retryGRPCInternal != 0,
				n == 8 && p.on&retryGRPCResourceExhausted != 0,
				n == 14 && p.on&retryGRPCUnavailable != 0:
				return true
			}
		}
	}
	return false
}

// backoffFor returns Envoy's fully jittered exponential back-off before
// retry n (1-based) for p: uniform in [0, (2^n-1)*base], at most 10*base;
// the base is Istio's 25 ms unless the policy sets one.
func (p *RetryPolicy) backoffFor(n int) time.Duration {
	base := p.Backoff
	if base <= 0 {
		base = retryBase
	}
	limit := min(time.Duration(1<<min(n, 20)-1)*base, 10*base)
	return jitter(limit)
}

func jitter(limit time.Duration) time.Duration {
	return time.Duration(rand.Int64N(int64(limit) + 1))
}

// roundTripRetrying sends req, retrying as the route's policy says:
// another endpoint each time unless the policy allows previous hosts,
// Envoy's back-off between tries, each try bounded by the per-try timeout.
// The last response or error is what the client gets. rt sends each try.
func (p *proxy) roundTripRetrying(req *http.Request, rt http.RoundTripper) (*http.Response, error) {
	ctx := req.Context()
	set := p.up.endpoints(ctx)
	if len(set.addrs) == 0 {
		return nil, p.up.noEndpoints()
	}
	pol := &defaultRetry
	if p.route != nil && p.route.Retry != nil {
		pol = p.route.Retry
	}
	var body *replayBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &replayBody{rc: req.Body, keep: pol.keepsBody(req), length: req.ContentLength}
		req.Body = body
	}
	key := p.up.hashKey(req)
	retries := 0 // taken from the cluster's retry budget (maxRetries)
	defer func() {
		for range retries {
			p.up.RetryDone()
		}
	}()
	var triedBuf [4]string
	tried := triedBuf[:0]
	for attempt := 0; ; attempt++ {
		avoid := tried
		if pol.AllowPreviousHosts {
			avoid = nil
		}
		req.Header["X-Envoy-Attempt-Count"] = attemptCount(attempt)
		try, cancel := req, context.CancelFunc(nil)
		if pol.PerTryTimeout > 0 {
			var tctx context.Context
			tctx, cancel = context.WithTimeout(ctx, pol.PerTryTimeout)
			try = req.WithContext(tctx)
		}
		start := time.Now()
		// attempt picks the endpoint through the load balancer and the
		// circuit breakers, and reports the outcome to outlier detection.
		resp, addr, err := p.up.attempt(rt, try, set, avoid, key)
		tried = append(tried, addr)
		noteUpstream(ctx, addr)
		last := attempt >= pol.Attempts || ctx.Err() != nil
		if err == nil {
			next, ok := (*replayBody)(nil), false
			if !last && pol.retryResponse(resp) && p.takeRetry(&retries) {
				next, ok = body.rewind()
			}
			if ok {
				body = next
				if body != nil {
					req.Body = body
				}
				p.log.Debug("retrying upstream", "cluster", p.up.cluster.Name, "endpoint", addr, "attempt", attempt+1, "status", resp.StatusCode)
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
				if cancel != nil {
					cancel()
				}
				if !sleepCtx(ctx, pol.backoffFor(attempt+1)) {
					return nil, ctx.Err()
				}
				continue
			}
			if cancel != nil {
				resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
			}
			resp.Header["Server"] = valIstioEnvoy
			ms := time.Since(start).Milliseconds()
			resp.Header["X-Envoy-Upstream-Service-Time"] = serviceTime(ms)
			return resp, nil
		}
		if cancel != nil {
			cancel()
		}
		perTry := pol.PerTryTimeout > 0 && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded)
		if perTry {
			err = errUpstreamTimeout
		}
		if _, bodyErr := body.state(); bodyErr != nil {
			return nil, &downstreamError{bodyErr}
		}
		var ce *connectError
		if last || !pol.retryFailure(errors.As(err, &ce), perTry) || !p.takeRetry(&retries) {
			return nil, err
		}
		next, ok := body.rewind()
		if !ok {
			return nil, err
		}
		body = next
		if body != nil {
			req.Body = body
		}
		p.log.Debug("retrying upstream", "cluster", p.up.cluster.Name, "endpoint", addr, "attempt", attempt+1, "err", err)
		if !sleepCtx(ctx, pol.backoffFor(attempt+1)) {
			return nil, err
		}
	}
}

// takeRetry takes a place in the cluster's retry budget
// (connectionPool.http.maxRetries, Envoy's retry circuit breaker); *n
// counts the places to give back when the request is done.
func (p *proxy) takeRetry(n *int) bool {
	if !p.up.AllowRetry() {
		return false
	}
	*n++
	return true
}

// attemptCount is the x-envoy-attempt-count value for a 0-based attempt.
func attemptCount(attempt int) []string {
	if attempt < len(valAttempts) {
		return valAttempts[attempt]
	}
	return []string{strconv.Itoa(attempt + 1)}
}

// valServiceTimes are the x-envoy-upstream-service-time values of the
// fastest responses, shared like the other constant header values.
var valServiceTimes = func() (v [128][]string) {
	for i := range v {
		v[i] = []string{strconv.Itoa(i)}
	}
	return v
}()

// serviceTime is the x-envoy-upstream-service-time value for ms.
func serviceTime(ms int64) []string {
	if ms >= 0 && ms < int64(len(valServiceTimes)) {
		return valServiceTimes[ms]
	}
	return []string{strconv.FormatInt(ms, 10)}
}

// cancelOnClose releases a per-try timeout once the response body is done.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
