package runtime

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"time"
)

// ClusterPolicy is a DestinationRule traffic policy as it applies to one
// cluster (subset- and port-level settings already merged by the
// compiler). A nil policy means Istio's defaults.
type ClusterPolicy struct {
	LB LBKind
	// Hash says what a RING_HASH or MAGLEV balancer hashes.
	Hash HashPolicy
	// TableSize is the ring's minimum size or the maglev table's size (a
	// prime); 0 means Envoy's default.
	TableSize uint64
	Pool      ConnectionPool
	Outlier   *OutlierDetection
	TLS       *UpstreamTLS
}

// LBKind is a load-balancing algorithm. The zero value is istiod's default,
// LEAST_REQUEST.
type LBKind uint8

const (
	LBLeastRequest LBKind = iota
	LBRoundRobin
	LBRandom
	LBRingHash
	LBMaglev
)

func (k LBKind) String() string {
	switch k {
	case LBLeastRequest:
		return "LEAST_REQUEST"
	case LBRoundRobin:
		return "ROUND_ROBIN"
	case LBRandom:
		return "RANDOM"
	case LBRingHash:
		return "RING_HASH"
	case LBMaglev:
		return "MAGLEV"
	}
	return "LBKind(" + strconv.Itoa(int(k)) + ")"
}

// HashPolicy names the request attribute a consistent-hash balancer hashes;
// exactly one is set.
type HashPolicy struct {
	// Header is a lower-case request header name.
	Header string
	// Cookie is a cookie name. With CookieGenerate the gateway generates
	// the cookie when the request has none and sets it on the response,
	// with Max-Age the whole seconds of CookieTTL (none when 0: a session
	// cookie), as Envoy's hash policy does.
	Cookie         string
	CookiePath     string
	CookieTTL      time.Duration
	CookieGenerate bool
	// CookieAttributes are added to a generated cookie: "Name=value" or
	// "Name".
	CookieAttributes []string
	SourceIP         bool
	QueryParam       string
}

// ConnectionPool holds Envoy's circuit-breaker thresholds and connection
// settings; a zero field means Istio's default (unlimited, or Envoy's).
type ConnectionPool struct {
	// MaxConnections bounds the requests in flight to the cluster at once,
	// each holding an HTTP/1.1 connection; more wait as pending requests.
	MaxConnections uint32
	// MaxPendingRequests bounds the requests waiting for a connection.
	MaxPendingRequests uint32
	// MaxRequests bounds the requests in flight to the cluster.
	MaxRequests uint32
	// MaxRetries bounds the retries in flight to the cluster.
	MaxRetries uint32
	// MaxRequestsPerConnection closes a connection after that many requests.
	MaxRequestsPerConnection uint32
	ConnectTimeout           time.Duration
	// MaxConnectionDuration retires a connection this old: its next request
	// is its last.
	MaxConnectionDuration time.Duration
	// IdleTimeout closes connections idle that long; negative disables it.
	IdleTimeout time.Duration
	KeepAlive   *TCPKeepAlive
}

// TCPKeepAlive is tcpKeepalive; zero fields take the OS defaults.
type TCPKeepAlive struct {
	Probes   int
	Time     time.Duration
	Interval time.Duration
}

// OutlierDetection ejects endpoints that keep failing. A zero threshold
// disables that kind of ejection.
type OutlierDetection struct {
	Consecutive5xx     uint32
	ConsecutiveGateway uint32
	// SplitLocalOrigin counts failures to connect or to get a response
	// apart, against ConsecutiveLocalOrigin, instead of as gateway errors.
	SplitLocalOrigin       bool
	ConsecutiveLocalOrigin uint32
	Interval               time.Duration
	BaseEjectionTime       time.Duration
	MaxEjectionPercent     uint32
	MinHealthPercent       uint32
}

// UpstreamTLS originates TLS to the cluster's endpoints (DestinationRule
// tls SIMPLE or MUTUAL). File names are read when the binary starts.
type UpstreamTLS struct {
	CACertificates    string
	ClientCertificate string
	PrivateKey        string
	// SNI is the server name sent; empty sends the request's Host.
	SNI string
	// SubjectAltNames, when set, must contain one of the certificate's
	// SANs; otherwise the certificate must be valid for the SNI.
	SubjectAltNames    []string
	InsecureSkipVerify bool
	// CredentialName names a credential under --credentials-dir, as a
	// mounted Secret: the CA in NAME/ca.crt or NAME-cacert/ca.crt and,
	// when Mutual, the client certificate in NAME/tls.crt and NAME/tls.key.
	// The file fields are empty then.
	CredentialName string
	Mutual         bool
}

// check reports a policy the runtime cannot apply.
func (p *ClusterPolicy) check() error {
	if p == nil {
		return nil
	}
	if p.LB > LBMaglev {
		return fmt.Errorf("unknown load balancer %d", p.LB)
	}
	if p.LB == LBMaglev && p.TableSize != 0 && !big.NewInt(int64(min(p.TableSize, 1<<62))).ProbablyPrime(20) {
		return fmt.Errorf("maglev table size %d is not a prime", p.TableSize)
	}
	if p.LB == LBMaglev && p.TableSize > 5000011 {
		return fmt.Errorf("maglev table size %d is too large", p.TableSize)
	}
	if o := p.Outlier; o != nil && (o.Interval <= 0 || o.BaseEjectionTime <= 0) {
		return errors.New("outlier detection needs a positive interval and base ejection time")
	}
	return nil
}
