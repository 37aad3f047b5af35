package runtime

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testUpstream builds an upstream over static endpoints 10.0.0.N:80 with
// the given weights.
func testUpstream(t *testing.T, p *ClusterPolicy, weights ...uint32) *upstream {
	t.Helper()
	c := &Cluster{Name: "test", Policy: p}
	for i, w := range weights {
		c.Endpoints = append(c.Endpoints, Endpoint{Address: fmt.Sprintf("10.0.0.%d:80", i+1), Weight: w})
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	return newUpstream(c, stop, slog.New(slog.DiscardHandler), nil)
}

// spread picks n times and returns each endpoint's share in percent.
func spread(u *upstream, n int) []float64 {
	v := u.view(u.static)
	counts := make([]int, len(v.hosts))
	for range n {
		counts[u.pick(v, nil, hashKey{})]++
	}
	out := make([]float64, len(counts))
	for i, c := range counts {
		out[i] = 100 * float64(c) / float64(n)
	}
	return out
}

func TestBalancerSpread(t *testing.T) {
	const n = 10000
	for _, lb := range []LBKind{LBRoundRobin, LBRandom, LBLeastRequest} {
		for _, weights := range [][]uint32{{1, 1, 1}, {1, 2, 7}, {5, 0, 15}} {
			t.Run(fmt.Sprintf("%s/%v", lb, weights), func(t *testing.T) {
				u := testUpstream(t, &ClusterPolicy{LB: lb}, weights...)
				got := spread(u, n)
				var total float64
				for _, w := range weights {
					total += float64(max(w, 1)) // a zero weight counts as 1
				}
				for i, w := range weights {
					want := 100 * float64(max(w, 1)) / total
					if math.Abs(got[i]-want) > 3 {
						t.Errorf("endpoint %d (weight %d): %.2f%% of %d picks, want %.2f%% ± 3", i, w, got[i], n, want)
					}
				}
			})
		}
	}
}

func TestLeastRequestPrefersIdle(t *testing.T) {
	u := testUpstream(t, &ClusterPolicy{LB: LBLeastRequest}, 1, 1)
	v := u.view(u.static)
	v.hosts[0].active.Store(50)
	idle := 0
	for range 1000 {
		if u.pick(v, nil, hashKey{}) == 1 {
			idle++
		}
	}
	// Two random choices miss the idle host only when both land on the
	// busy one: a quarter of the time.
	if idle < 650 {
		t.Errorf("idle host got %d of 1000 picks, want about 750", idle)
	}
}

func keyOf(s string) hashKey { return hashKey{h: hash64(s), ok: true} }

func TestConsistentHash(t *testing.T) {
	const keys = 5000
	for _, lb := range []LBKind{LBRingHash, LBMaglev} {
		t.Run(lb.String(), func(t *testing.T) {
			u := testUpstream(t, &ClusterPolicy{LB: lb, Outlier: &OutlierDetection{Consecutive5xx: 1, Interval: 1 << 62, BaseEjectionTime: 1 << 62, MaxEjectionPercent: 100}}, 1, 1, 1, 1, 1)
			v := u.view(u.static)
			before := make([]int, keys)
			counts := make([]int, 5)
			for k := range keys {
				before[k] = u.pick(v, nil, keyOf("user-"+strconv.Itoa(k)))
				counts[before[k]]++
			}
			for k := range keys {
				if got := u.pick(v, nil, keyOf("user-"+strconv.Itoa(k))); got != before[k] {
					t.Fatalf("key %d moved from %d to %d while membership was stable", k, before[k], got)
				}
			}
			for i, c := range counts {
				if share := 100 * float64(c) / keys; math.Abs(share-20) > 6 {
					t.Errorf("endpoint %d owns %.1f%% of the keys, want about 20%%", i, share)
				}
			}
			u.report(v, v.hosts[2], 500) // one 5xx ejects it
			if !v.hosts[2].ejected.Load() {
				t.Fatal("endpoint 2 not ejected")
			}
			moved, wrong := 0, 0
			for k := range keys {
				got := u.pick(v, nil, keyOf("user-"+strconv.Itoa(k)))
				if got == 2 {
					t.Fatalf("key %d still sent to the ejected endpoint", k)
				}
				if got != before[k] {
					moved++
					if before[k] != 2 {
						wrong++
					}
				}
			}
			share := 100 * float64(moved) / keys
			t.Logf("%s: %.1f%% of keys moved after ejecting 1 of 5 (%d not from the ejected endpoint)", lb, share, wrong)
			if math.Abs(share-20) > 6 {
				t.Errorf("%.1f%% of the keys moved, want about 20%% (1/n)", share)
			}
			// Maglev may shuffle a few other slots; the ring moves none.
			if lb == LBRingHash && wrong > 0 || wrong > keys/100 {
				t.Errorf("%d keys of healthy endpoints moved", wrong)
			}
		})
	}
}

func TestHashKeys(t *testing.T) {
	req := func(target string, h ...string) *http.Request {
		r, _ := http.NewRequest("GET", "http://x"+target, nil)
		r.RemoteAddr = "192.0.2.7:5555"
		for i := 0; i+1 < len(h); i += 2 {
			r.Header.Add(h[i], h[i+1])
		}
		return r
	}
	cases := []struct {
		name string
		hp   HashPolicy
		r    *http.Request
		ok   bool
		same *http.Request // a request that must hash the same
	}{
		{"header", HashPolicy{Header: "x-user"}, req("/", "X-User", "ann"), true, req("/b", "X-User", "ann")},
		{"header missing", HashPolicy{Header: "x-user"}, req("/"), false, nil},
		{"query", HashPolicy{QueryParam: "u"}, req("/?u=ann&v=1"), true, req("/x?v=2&u=ann")},
		{"query missing", HashPolicy{QueryParam: "u"}, req("/?v=1"), false, nil},
		{"source ip", HashPolicy{SourceIP: true}, req("/"), true, req("/other")},
		{"cookie", HashPolicy{Cookie: "sid"}, req("/", "Cookie", "sid=abc"), true, req("/", "Cookie", `a=1; sid="abc"`)},
		{"cookie missing, no ttl", HashPolicy{Cookie: "sid"}, req("/"), false, nil},
	}
	for _, tc := range cases {
		k := requestKey(&tc.hp, tc.r)
		if k.ok != tc.ok {
			t.Errorf("%s: ok=%t, want %t", tc.name, k.ok, tc.ok)
		}
		if tc.same != nil && requestKey(&tc.hp, tc.same).h != k.h {
			t.Errorf("%s: equal keys hash differently", tc.name)
		}
	}
	k := requestKey(&HashPolicy{Cookie: "sid", CookiePath: "/app", CookieTTL: 3600e9, CookieGenerate: true, CookieAttributes: []string{"SameSite=Strict", "Secure"}}, req("/"))
	if !k.ok || k.setCookie == "" {
		t.Fatalf("cookie with ttl not generated: %+v", k)
	}
	c, err := http.ParseSetCookie(k.setCookie)
	if err != nil || c.Name != "sid" || c.MaxAge != 3600 || c.Path != "/app" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || !c.Secure {
		t.Fatalf("Set-Cookie %q: %+v %v", k.setCookie, c, err)
	}
	if again := requestKey(&HashPolicy{Cookie: "sid"}, req("/", "Cookie", "sid="+c.Value)); again.h != k.h {
		t.Error("the generated cookie, sent back, hashes differently")
	}
}

// Envoy's hash policy keeps the ttl's whole seconds and writes Max-Age only
// when they are not 0: a ttl of 0 (or under a second) makes a session
// cookie, a negative one a Max-Age the client expires at once; without a
// ttl no cookie is made.
func TestCookieTTLAsEnvoy(t *testing.T) {
	for _, tc := range []struct {
		ttl      time.Duration
		generate bool
		want     string
	}{
		{0, false, ""},
		{0, true, `sid="X"; HttpOnly`},
		{500 * time.Microsecond, true, `sid="X"; HttpOnly`},
		{1500 * time.Millisecond, true, `sid="X"; Max-Age=1; HttpOnly`},
		{-time.Second, true, `sid="X"; Max-Age=-1; HttpOnly`},
	} {
		k := requestKey(&HashPolicy{Cookie: "sid", CookieTTL: tc.ttl, CookieGenerate: tc.generate}, httptest.NewRequest("GET", "/", nil))
		if k.ok != tc.generate {
			t.Errorf("ttl %v generate %t: hashed %t", tc.ttl, tc.generate, k.ok)
			continue
		}
		got := k.setCookie
		if v, _, ok := strings.Cut(got, `"`); ok {
			_, rest, _ := strings.Cut(got[len(v)+1:], `"`)
			got = v + `"X"` + rest
		}
		if got != tc.want {
			t.Errorf("ttl %v: Set-Cookie %q, want %q", tc.ttl, got, tc.want)
		}
	}
}

func TestRetryBudget(t *testing.T) {
	u := testUpstream(t, &ClusterPolicy{Pool: ConnectionPool{MaxRetries: 2}}, 1)
	if !u.AllowRetry() || !u.AllowRetry() {
		t.Fatal("the first two retries were refused")
	}
	if u.AllowRetry() {
		t.Fatal("a third concurrent retry was allowed with maxRetries 2")
	}
	u.RetryDone()
	if !u.AllowRetry() {
		t.Fatal("a retry was refused after one ended")
	}
	if unlimited := testUpstream(t, nil, 1); !unlimited.AllowRetry() {
		t.Fatal("retry refused without a limit")
	}
}

func TestOutlierEjectionLimits(t *testing.T) {
	od := &OutlierDetection{Consecutive5xx: 2, Interval: 1 << 62, BaseEjectionTime: 1 << 62, MaxEjectionPercent: 50}
	u := testUpstream(t, &ClusterPolicy{LB: LBRoundRobin, Outlier: od}, 1, 1, 1, 1)
	v := u.view(u.static)
	u.report(v, v.hosts[0], 503)
	u.report(v, v.hosts[0], 200) // a success resets the count
	u.report(v, v.hosts[0], 503)
	if v.hosts[0].ejected.Load() {
		t.Fatal("ejected after non-consecutive errors")
	}
	for _, i := range []int{0, 1, 2} {
		u.report(v, v.hosts[i], 500)
		u.report(v, v.hosts[i], 0)
	}
	ejected := 0
	for _, h := range v.hosts {
		if h.ejected.Load() {
			ejected++
		}
	}
	if ejected != 2 {
		t.Fatalf("%d of 4 hosts ejected, want 2 (maxEjectionPercent 50)", ejected)
	}
	// One host can always be ejected, whatever the percentage.
	low := testUpstream(t, &ClusterPolicy{Outlier: &OutlierDetection{Consecutive5xx: 1, Interval: 1 << 62, BaseEjectionTime: 1 << 62, MaxEjectionPercent: 10}}, 1, 1, 1)
	lv := low.view(low.static)
	low.report(lv, lv.hosts[0], 500)
	low.report(lv, lv.hosts[1], 500)
	if !lv.hosts[0].ejected.Load() || lv.hosts[1].ejected.Load() {
		t.Error("with maxEjectionPercent 10 of 3 hosts, want exactly the first failing host ejected")
	}
	for range 100 {
		if i := u.pick(v, nil, hashKey{}); v.hosts[i].ejected.Load() {
			t.Fatal("picked an ejected host")
		}
	}
	// minHealthPercent above the healthy share: panic mode uses every host.
	od.MinHealthPercent = 75
	seen := map[int]bool{}
	for range 100 {
		seen[u.pick(v, nil, hashKey{})] = true
	}
	if len(seen) != 4 {
		t.Errorf("in panic mode %d hosts got traffic, want 4", len(seen))
	}
}

func TestOutlierSplitLocalOrigin(t *testing.T) {
	od := &OutlierDetection{Consecutive5xx: 2, SplitLocalOrigin: true, ConsecutiveLocalOrigin: 3,
		Interval: 1 << 62, BaseEjectionTime: 1 << 62, MaxEjectionPercent: 100}
	u := testUpstream(t, &ClusterPolicy{Outlier: od}, 1, 1)
	v := u.view(u.static)
	h := v.hosts[0]
	// Connect failures do not count as 5xx when split: two of them and a
	// 500 eject nothing.
	u.report(v, h, 0)
	u.report(v, h, 500)
	u.report(v, h, 0)
	if h.ejected.Load() {
		t.Fatal("ejected after 2 local-origin failures and 1 5xx (thresholds 3 and 2)")
	}
	u.report(v, h, 0) // a response (the 500) reset the local count: 2 now
	u.report(v, h, 0)
	if !h.ejected.Load() {
		t.Fatal("not ejected after 3 consecutive local-origin failures")
	}
}
