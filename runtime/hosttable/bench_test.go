package hosttable_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/runtime/hosttable"
)

// The benchmarks compare the perfect-hash router with a Go map (which needs
// a lower-cased copy of the Host) and a linear scan, for exact hits (as sent
// and in upper case), wildcard hits and misses:
//
//	go test -run - -bench . -count 10 ./runtime/hosttable | benchstat -col /impl -
//
// A million hosts take a while to set up, so they run only when named:
//
//	go test -run - -bench '/hosts=1000000' ./runtime/hosttable

// benchSizes returns the host counts to benchmark.
func benchSizes() []int {
	sizes := []int{10, 1000, 100000}
	if f := flag.Lookup("test.bench"); f != nil && strings.Contains(f.Value.String(), "hosts=1000000") {
		sizes = append(sizes, 1000000)
	}
	return sizes
}

// benchSet is n exact hosts, n wildcard hosts and queries of each kind.
type benchSet struct {
	domains []string // "svc-1.team-1.example.com", ..., "*.app-1.example.net", ...
	queries map[string][]string
}

func newBenchSet(n int) benchSet {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	s := benchSet{queries: map[string][]string{}}
	for i := range n {
		s.domains = append(s.domains, fmt.Sprintf("svc-%d.team-%d.example.com", i, i%50))
	}
	for i := range n {
		s.domains = append(s.domains, fmt.Sprintf("*.app-%d.example.net", i))
	}
	for range 1024 {
		i := r.IntN(n)
		exact := s.domains[i]
		s.queries["exact"] = append(s.queries["exact"], exact)
		s.queries["upper"] = append(s.queries["upper"], strings.ToUpper(exact))
		s.queries["wildcard"] = append(s.queries["wildcard"], "www"+s.domains[n+i][1:])
		s.queries["miss"] = append(s.queries["miss"], fmt.Sprintf("svc-%d.team-%d.example.org", i, i%50))
	}
	return s
}

// lookuper is one router implementation under benchmark.
type lookuper interface{ Lookup(host string) int32 }

// mapRouter is the router written with Go maps.
type mapRouter struct {
	exact, wildcard map[string]int32
}

func newMapRouter(domains []string) *mapRouter {
	m := &mapRouter{exact: map[string]int32{}, wildcard: map[string]int32{}}
	for i, d := range domains {
		if suffix, ok := strings.CutPrefix(d, "*."); ok {
			m.wildcard[suffix] = int32(i)
		} else {
			m.exact[d] = int32(i)
		}
	}
	return m
}

func (m *mapRouter) Lookup(host string) int32 {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	host = strings.ToLower(host)
	if v, ok := m.exact[host]; ok {
		return v
	}
	for i := 1; i < len(host); i++ {
		if host[i] == '.' {
			if v, ok := m.wildcard[host[i+1:]]; ok {
				return v
			}
		}
	}
	return -1
}

// linearRouter is the router written as a scan over the domains.
type linearRouter struct {
	exact, wildcard []string
	exactV, wildV   []int32
}

func newLinearRouter(domains []string) *linearRouter {
	l := &linearRouter{}
	for i, d := range domains {
		if suffix, ok := strings.CutPrefix(d, "*."); ok {
			l.wildcard, l.wildV = append(l.wildcard, suffix), append(l.wildV, int32(i))
		} else {
			l.exact, l.exactV = append(l.exact, d), append(l.exactV, int32(i))
		}
	}
	return l
}

func (l *linearRouter) Lookup(host string) int32 {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	for i, d := range l.exact {
		if strings.EqualFold(d, host) {
			return l.exactV[i]
		}
	}
	for i := 1; i < len(host); i++ {
		if host[i] == '.' {
			for j, d := range l.wildcard {
				if strings.EqualFold(d, host[i+1:]) {
					return l.wildV[j]
				}
			}
		}
	}
	return -1
}

func benchLookups(b *testing.B, r lookuper, queries []string) {
	b.ReportAllocs()
	var sink int32
	for i := 0; b.Loop(); i++ {
		sink += r.Lookup(queries[i&1023])
	}
	_ = sink
}

func BenchmarkRouter(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			set := newBenchSet(n)
			impls := []struct {
				name string
				r    lookuper
			}{
				{"mph", newRouter(b, set.domains...)},
				{"map", newMapRouter(set.domains)},
				{"linear", newLinearRouter(set.domains)},
				{"radix", newRadixRouter(set.domains)},
			}
			for _, kind := range []string{"exact", "upper", "wildcard", "miss"} {
				for _, impl := range impls {
					b.Run("kind="+kind+"/impl="+impl.name, func(b *testing.B) {
						benchLookups(b, impl.r, set.queries[kind])
					})
				}
			}
		})
	}
}

// tableOnly looks exact hosts up in a Table, without the router around it.
type tableOnly struct{ t *hosttable.Table }

func (t tableOnly) Lookup(host string) int32 {
	v, _ := t.t.Lookup(host)
	return v
}

// mapOnly looks exact hosts up in a map, lower-casing first as a map user must.
type mapOnly map[string]int32

func (m mapOnly) Lookup(host string) int32 { return m[strings.ToLower(host)] }

// linearOnly scans exact hosts.
type linearOnly []string

func (l linearOnly) Lookup(host string) int32 {
	for i, d := range l {
		if strings.EqualFold(d, host) {
			return int32(i)
		}
	}
	return -1
}

func BenchmarkTable(b *testing.B) {
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			set := newBenchSet(n)
			exact := set.domains[:n]
			m := mapOnly{}
			for i, d := range exact {
				m[d] = int32(i)
			}
			router := newRouter(b, exact...)
			impls := []struct {
				name string
				r    lookuper
			}{
				{"mph", tableOnly{&router.Exact}},
				{"map", m},
				{"linear", linearOnly(exact)},
			}
			for _, kind := range []string{"exact", "upper", "miss"} {
				for _, impl := range impls {
					b.Run("kind="+kind+"/impl="+impl.name, func(b *testing.B) {
						benchLookups(b, impl.r, set.queries[kind])
					})
				}
			}
		})
	}
}
