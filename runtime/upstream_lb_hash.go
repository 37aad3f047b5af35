package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Consistent hashing: RING_HASH (Envoy's ketama-style ring) and MAGLEV.
// Tables are built over the hosts not ejected, so an ejection moves only
// the keys of the ejected host.

const (
	defaultRingSize   = 1024
	maxRingSize       = 1 << 23
	defaultMaglevSize = 65537
)

// hashTable maps a request hash to an endpoint index; -1 when empty.
type hashTable interface {
	lookup(h uint64) int
}

// hashKey is the hash of a request's key; ok is false when the request has
// no key (no such header, cookie or parameter).
type hashKey struct {
	h  uint64
	ok bool
	// setCookie is a Set-Cookie value to send back: the cookie was generated
	// for this request.
	setCookie string
}

// hash64 is FNV-1a with a final mix, so that near-identical strings (the
// "addr_N" ring points) spread over the whole space.
func hash64(s string) uint64 {
	f := fnv.New64a()
	_, _ = f.Write([]byte(s))
	x := f.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashKey returns the request's hash key when the cluster balances by
// consistent hash.
func (u *upstream) hashKey(req *http.Request) hashKey {
	p := u.cluster.Policy
	if p == nil || p.LB != LBRingHash && p.LB != LBMaglev {
		return hashKey{}
	}
	return requestKey(&p.Hash, req)
}

// requestKey returns the hash key of req under hp.
func requestKey(hp *HashPolicy, req *http.Request) hashKey {
	var v string
	switch {
	case hp.Header != "":
		vals := req.Header.Values(hp.Header)
		if strings.EqualFold(hp.Header, "host") || hp.Header == ":authority" {
			vals = []string{req.Host}
		}
		if len(vals) == 0 {
			return hashKey{}
		}
		v = strings.Join(vals, ",")
	case hp.Cookie != "":
		if c, err := req.Cookie(hp.Cookie); err == nil {
			v = c.Value
			break
		}
		if !hp.CookieGenerate {
			return hashKey{}
		}
		var b [8]byte
		_, _ = rand.Read(b[:])
		v = hex.EncodeToString(b[:])
		return hashKey{h: hash64(v), ok: true, setCookie: setCookieValue(hp, v)}
	case hp.SourceIP:
		v = clientIP(req.RemoteAddr)
	case hp.QueryParam != "":
		q := req.URL.Query()
		if !q.Has(hp.QueryParam) {
			return hashKey{}
		}
		v = q.Get(hp.QueryParam)
	}
	if v == "" && !hp.SourceIP {
		return hashKey{}
	}
	return hashKey{h: hash64(v), ok: true}
}

// setCookieValue writes the cookie as Envoy generates it: quoted value,
// Max-Age unless the ttl has no whole second, Path, HttpOnly.
func setCookieValue(hp *HashPolicy, v string) string {
	s := hp.Cookie + `="` + v + `"`
	if sec := int64(hp.CookieTTL / time.Second); sec != 0 {
		s += "; Max-Age=" + strconv.FormatInt(sec, 10)
	}
	if hp.CookiePath != "" {
		s += "; Path=" + hp.CookiePath
	}
	for _, a := range hp.CookieAttributes {
		s += "; " + a
	}
	return s + "; HttpOnly"
}

// ring is a sorted list of points, each owned by a host; a key belongs to
// the first point at or after its hash.
type ring struct {
	points []uint64
	owner  []int
}

func newRing(s *endpointSet, members []int, minSize uint64) hashTable {
	if len(members) == 0 {
		return emptyTable{}
	}
	if minSize == 0 {
		minSize = defaultRingSize
	}
	minSize = min(minSize, maxRingSize)
	// Points per host come from the whole endpoint set, not only the
	// members, so that an ejection removes the ejected host's points and
	// moves no other key.
	var total, minW uint64
	for i := range s.addrs {
		w := uint64(s.weight(i))
		total += w
		if minW == 0 || w < minW {
			minW = w
		}
	}
	// As Envoy, scale the ring so the lightest host gets at least one
	// point and the ring has at least minSize points.
	scale := float64(minSize) / float64(total)
	if float64(minW)*scale < 1 {
		scale = 1 / float64(minW)
	}
	type point struct {
		h     uint64
		owner int
	}
	var pts []point
	for _, i := range members {
		n := max(1, int(float64(s.weight(i))*scale+0.5))
		for k := range n {
			pts = append(pts, point{hash64(s.addrs[i] + "_" + strconv.Itoa(k)), i})
			if len(pts) >= maxRingSize {
				break
			}
		}
	}
	slices.SortFunc(pts, func(a, b point) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return a.owner - b.owner
	})
	r := &ring{points: make([]uint64, len(pts)), owner: make([]int, len(pts))}
	for k, p := range pts {
		r.points[k], r.owner[k] = p.h, p.owner
	}
	return r
}

func (r *ring) lookup(h uint64) int {
	k, _ := slices.BinarySearch(r.points, h)
	if k == len(r.points) {
		k = 0
	}
	return r.owner[k]
}

// maglev is Maglev's lookup table: every slot owned by a host, hosts
// filling slots in turns proportional to their weights.
type maglev struct{ table []int32 }

func newMaglev(s *endpointSet, members []int, size uint64) hashTable {
	if len(members) == 0 {
		return emptyTable{}
	}
	if size == 0 {
		size = defaultMaglevSize
	}
	m := size
	offset := make([]uint64, len(members))
	skip := make([]uint64, len(members))
	next := make([]uint64, len(members))
	credit := make([]float64, len(members))
	var maxW float64
	for k, i := range members {
		offset[k] = hash64(s.addrs[i]) % m
		skip[k] = hash64(s.addrs[i]+"#skip")%(m-1) + 1
		maxW = max(maxW, float64(s.weight(i)))
	}
	table := make([]int32, m)
	for j := range table {
		table[j] = -1
	}
	filled := uint64(0)
	// Each round the heaviest host places one entry and lighter hosts
	// place when their accumulated share reaches one; so rounds are at
	// most m.
	for round := uint64(0); filled < m && round < m; round++ {
		for k, i := range members {
			credit[k] += float64(s.weight(i)) / maxW
			if credit[k] < 1 {
				continue
			}
			credit[k]--
			// A prime m makes each host's sequence visit every slot, so a
			// free one is found within m steps; Prepare checks m is prime.
			for tries := uint64(0); tries < m; tries++ {
				c := (offset[k] + next[k]*skip[k]) % m
				next[k]++
				if table[c] < 0 {
					table[c] = int32(i)
					filled++
					break
				}
			}
			if filled == m {
				break
			}
		}
	}
	return &maglev{table: table}
}

func (t *maglev) lookup(h uint64) int { return int(t.table[h%uint64(len(t.table))]) }

type emptyTable struct{}

func (emptyTable) lookup(uint64) int { return -1 }
