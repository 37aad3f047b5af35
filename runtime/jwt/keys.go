package jwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// defaultRefresh is istiod's PILOT_JWT_PUB_KEY_REFRESH_INTERVAL, and
// refreshOnFailure its JwtPubKeyRefreshIntervalOnFailure
// (pilot/pkg/model/jwks_resolver.go).
const (
	defaultRefresh   = 20 * time.Minute
	refreshOnFailure = time.Minute
	// maxJWKSBytes bounds a fetched key set: a JWKS of a few hundred keys
	// is well under it.
	maxJWKSBytes = 1 << 20
)

// keySet is the usable public keys of a JWKS document.
type keySet struct {
	keys []jose.JSONWebKey
}

// parseKeySet reads a JWKS document as Envoy's jwt_verify does: keys of a
// type it cannot use are skipped, and a set without any usable key is an
// error. Private keys count by their public half. Symmetric (oct) keys
// are not used: gwc verifies the asymmetric algorithms only.
func parseKeySet(data []byte) (*keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("Jwks is an invalid JSON: %w", err)
	}
	if doc.Keys == nil {
		return nil, errors.New("Jwks does not have [keys] field")
	}
	ks := &keySet{}
	for _, raw := range doc.Keys {
		var k jose.JSONWebKey
		if k.UnmarshalJSON(raw) != nil || !k.Valid() {
			continue
		}
		switch k.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			k = k.Public()
		default:
			continue
		}
		ks.keys = append(ks.keys, k)
	}
	if len(ks.keys) == 0 {
		return nil, errors.New("Jwks doesn't have any valid public key")
	}
	return ks, nil
}

// remote is a jwksUri and the last key set fetched from it; nil until a
// fetch succeeded, and then kept when a later fetch fails.
type remote struct {
	uri string
	// discover says uri is an OpenID configuration naming the key set's
	// URI (jwks_uri), looked up at each fetch as istiod does.
	discover bool
	timeout  time.Duration
	keys     atomic.Pointer[keySet]
}

// fetch gets the key set once.
func (rm *remote) fetch(ctx context.Context, client *http.Client) error {
	ctx, cancel := context.WithTimeout(ctx, rm.timeout)
	defer cancel()
	uri := rm.uri
	if rm.discover {
		body, err := get(ctx, client, uri)
		if err != nil {
			return fmt.Errorf("OpenID configuration: %w", err)
		}
		var conf struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := json.Unmarshal(body, &conf); err != nil || conf.JWKSURI == "" {
			return errors.New("OpenID configuration has no jwks_uri")
		}
		if u, err := url.Parse(conf.JWKSURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("OpenID configuration's jwks_uri %q is not an http or https URL", conf.JWKSURI)
		}
		uri = conf.JWKSURI
	}
	body, err := get(ctx, client, uri)
	if err != nil {
		return err
	}
	ks, err := parseKeySet(body)
	if err != nil {
		return err
	}
	rm.keys.Store(ks)
	return nil
}

// get reads a document of at most maxJWKSBytes answered with 200.
func get(ctx context.Context, client *http.Client, uri string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("larger than %d bytes", maxJWKSBytes)
	}
	return body, nil
}

// fetcher refreshes the remote key sets of an Authenticator.
type fetcher struct {
	remotes []*remote
	refresh time.Duration
	client  *http.Client
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// start fetches every key set once, waiting for all of them (each bounded
// by its timeout), then refreshes each in the background.
func (f *fetcher) start(log *slog.Logger) {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	var first sync.WaitGroup
	for _, rm := range f.remotes {
		first.Add(1)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			ok := f.once(ctx, rm, log)
			first.Done()
			for {
				next := f.refresh
				if !ok {
					next = min(next, refreshOnFailure)
				}
				t := time.NewTimer(next)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
				ok = f.once(ctx, rm, log)
			}
		}()
	}
	first.Wait()
}

func (f *fetcher) once(ctx context.Context, rm *remote, log *slog.Logger) bool {
	err := rm.fetch(ctx, f.client)
	if err == nil {
		log.Info("fetched JWKS", "jwksUri", rm.uri)
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	if rm.keys.Load() == nil {
		log.Error("fetching JWKS: tokens of its issuers are refused until a fetch succeeds", "jwksUri", rm.uri, "err", err)
	} else {
		log.Warn("refreshing JWKS: keeping the last key set", "jwksUri", rm.uri, "err", err)
	}
	return false
}

func (f *fetcher) stop() {
	if f.cancel != nil {
		f.cancel()
	}
	f.wg.Wait()
}
