package runtime

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// needsOwnTransport reports whether a cluster's policy changes how its
// connections are made or kept, so it cannot share the default transport.
func needsOwnTransport(p *ClusterPolicy) bool {
	if p == nil {
		return false
	}
	pool := p.Pool
	return p.TLS != nil || pool.MaxConnections > 0 || pool.MaxRequestsPerConnection > 0 || pool.MaxConnectionDuration > 0 ||
		pool.ConnectTimeout > 0 || pool.IdleTimeout != 0 || pool.KeepAlive != nil
}

// newClusterTransport returns a transport for one cluster's
// connectionPool and tls settings, speaking HTTP/2 when http2 is set (a
// GRPC or HTTP2 port): over TLS by ALPN h2, else with prior knowledge, as
// Envoy does; never HTTP/1.1 then, nor cleartext where tls is set.
// A credentialName is read under dir, and log tells of its reloads.
func newClusterTransport(name string, p *ClusterPolicy, dir string, log *slog.Logger, http2 bool) (*http.Transport, error) {
	t := newTransport()
	if http2 {
		var protos http.Protocols
		if p.TLS != nil {
			protos.SetHTTP2(true)
		} else {
			protos.SetUnencryptedHTTP2(true)
		}
		t.Protocols = &protos
	}
	pool := p.Pool
	d := &net.Dialer{Timeout: connectTimeout}
	if pool.ConnectTimeout > 0 {
		d.Timeout = pool.ConnectTimeout
	}
	if ka := pool.KeepAlive; ka != nil {
		d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: ka.Time, Interval: ka.Interval, Count: ka.Probes}
	}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, &connectError{err}
		}
		return &countedConn{Conn: c, born: time.Now()}, nil
	}
	t.DialContext = dial
	if pool.MaxConnections > 0 {
		t.MaxConnsPerHost = int(pool.MaxConnections)
		t.MaxIdleConnsPerHost = int(pool.MaxConnections)
	}
	switch {
	case pool.IdleTimeout > 0:
		t.IdleConnTimeout = pool.IdleTimeout
	case pool.IdleTimeout < 0:
		t.IdleConnTimeout = 0 // Istio: 0s disables the idle timeout
	}
	if pool.MaxRequestsPerConnection == 1 {
		t.DisableKeepAlives = true
	}
	if p.TLS != nil {
		current, err := upstreamTLS(name, p.TLS, dir, log)
		if err != nil {
			return nil, err
		}
		t.TLSClientConfig = current()
		t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			cfg := current().Clone()
			if http2 {
				cfg.NextProtos = []string{"h2"}
			}
			if cfg.ServerName == "" {
				// Auto SNI: the downstream Host, as Istio sets for SIMPLE and
				// MUTUAL without sni.
				cfg.ServerName, _ = ctx.Value(sniKey{}).(string)
			}
			tc := tls.Client(c, cfg)
			hctx, cancel := context.WithTimeout(ctx, d.Timeout)
			defer cancel()
			if err := tc.HandshakeContext(hctx); err != nil {
				c.Close()
				return nil, &connectError{fmt.Errorf("tls handshake: %w", err)}
			}
			if http2 {
				// net/http speaks HTTP/2 on a *tls.Conn that negotiated h2;
				// the per-connection request limits are HTTP/1.1's.
				if tc.ConnectionState().NegotiatedProtocol != "h2" {
					tc.Close()
					return nil, &connectError{fmt.Errorf("tls handshake: the upstream does not speak HTTP/2 (ALPN h2)")}
				}
				return tc, nil
			}
			return &countedConn{Conn: tc, born: time.Now()}, nil
		}
	}
	return t, nil
}

// clusterTransport returns the transport of cluster c, speaking HTTP/2
// when http2 is set: a shared one (HTTP/1.1 or cleartext HTTP/2) unless
// its policy needs its own. checkUpstreamTLS has run, so building cannot
// fail on a file; should it still, the cluster answers 503.
func (e *engine) clusterTransport(c *Cluster, http2 bool) http.RoundTripper {
	if !needsOwnTransport(c.Policy) {
		if http2 {
			return e.h2cTransport()
		}
		return e.forward
	}
	t, err := newClusterTransport(c.Name, c.Policy, e.cfg.credentialsDir, e.log, http2)
	if err != nil {
		e.log.Error("upstream transport", "cluster", c.Name, "err", err)
		return failingTransport{err}
	}
	return t
}

type failingTransport struct{ err error }

func (f failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, &connectError{f.err}
}

// upstreamTLS returns the client configuration of a cluster's tls block
// for each new connection: fixed when it names files, re-read on change
// when it names a credential.
func upstreamTLS(cluster string, t *UpstreamTLS, dir string, log *slog.Logger) (func() *tls.Config, error) {
	if t.CredentialName == "" {
		cfg, err := clientTLSConfig(t)
		if err != nil {
			return nil, err
		}
		return func() *tls.Config { return cfg }, nil
	}
	cred, err := newUpstreamCredential(cluster, t, dir, log)
	if err != nil {
		return nil, err
	}
	return cred.config, nil
}

// checkUpstreamTLS loads every cluster's TLS files, so that a missing or
// bad file stops the binary before it serves.
func checkUpstreamTLS(cfg *Config) error {
	var errs []error
	for i := range cfg.Clusters {
		c := &cfg.Clusters[i]
		if c.Policy == nil || c.Policy.TLS == nil {
			continue
		}
		if _, err := upstreamTLS(c.Name, c.Policy.TLS, cfg.credentialsDir, slog.New(slog.DiscardHandler)); err != nil {
			errs = append(errs, fmt.Errorf("cluster %q: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}

// closeIdleTo closes the idle connections a cluster's transport keeps to
// addrs, endpoints a DNS refresh dropped, so that a name whose addresses
// rotate does not pile up connections to hosts no longer used. The
// forwarder frees their pools; an http.Transport (TLS, HTTP/2, a
// connectionPool of its own) can only close all its idle connections,
// which costs the endpoints that stayed one new connection each.
func closeIdleTo(rt http.RoundTripper, addrs []string) {
	switch t := rt.(type) {
	case *forwarder:
		t.forget(addrs)
	case *protocolSwitch:
		closeIdleTo(t.h1, addrs)
		closeIdleTo(t.h2, addrs)
	case interface{ CloseIdleConnections() }:
		t.CloseIdleConnections()
	}
}
