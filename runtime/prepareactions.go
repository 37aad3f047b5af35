package runtime

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// prepareMore compiles the match conditions beyond path, method and
// headers.
func (m *Match) prepareMore(rc regexCache) error {
	var errs []error
	for hi := range m.WithoutHeaders {
		h := &m.WithoutHeaders[hi]
		if err := h.prepare(rc); err != nil {
			errs = append(errs, fmt.Errorf("without header %q: %w", h.Name, err))
		}
	}
	for qi := range m.Query {
		q := &m.Query[qi]
		if q.Name == "" {
			errs = append(errs, errors.New("empty query parameter name"))
		}
		if err := q.Match.prepareWith(rc); err != nil {
			errs = append(errs, fmt.Errorf("query parameter %q: %w", q.Name, err))
		}
	}
	if m.IgnoreCase && (m.Path.Kind == MatchExact || m.Path.Kind == MatchPrefix) {
		setIfChanged(&m.Path.Value, strings.ToLower(m.Path.Value))
	}
	return errors.Join(errs...)
}

// prepareActions checks and compiles the route's actions.
func (r *Route) prepareActions() error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	n := 0
	if len(r.Clusters) > 0 {
		n++
	}
	if r.Redirect != nil {
		n++
		switch r.Redirect.Code {
		case 301, 302, 303, 307, 308:
		default:
			fail("redirect code %d is not 301, 302, 303, 307 or 308", r.Redirect.Code)
		}
	}
	if r.DirectResponse != nil {
		n++
		if s := r.DirectResponse.Status; s < 200 || s > 599 {
			fail("direct response status %d out of range 200-599", s)
		}
	}
	if n > 1 {
		fail("a route forwards, redirects or answers directly: only one")
	}
	if rw := r.Rewrite; rw != nil {
		rw.re, rw.template = nil, ""
		if rw.RegexMatch != "" {
			re, err := regexp.Compile(rw.RegexMatch)
			if err != nil {
				fail("compiling rewrite regex %q: %w", rw.RegexMatch, err)
			} else {
				rw.re, rw.template = re, expandTemplate(rw.RegexSubst)
			}
		}
	}
	r.RequestHeaders.prepare()
	r.ResponseHeaders.prepare()
	for i := range r.Clusters {
		r.Clusters[i].RequestHeaders.prepare()
		r.Clusters[i].ResponseHeaders.prepare()
	}
	if r.Timeout < 0 {
		fail("negative timeout")
	}
	if r.CORS != nil {
		if err := r.CORS.prepare(); err != nil {
			fail("cors: %w", err)
		}
	}
	for i, m := range r.Mirrors {
		if m.Percent < 0 || m.Percent > 100 {
			fail("mirror %d: percentage %v outside 0-100", i, m.Percent)
		}
	}
	if f := r.Fault; f != nil {
		if f.DelayPercent < 0 || f.DelayPercent > 100 || f.AbortPercent < 0 || f.AbortPercent > 100 {
			fail("fault percentage outside 0-100")
		}
	}
	if r.Retry != nil {
		if err := r.Retry.prepare(); err != nil {
			fail("retry policy: %w", err)
		}
	}
	return errors.Join(errs...)
}

func (o *HeaderOps) prepare() {
	if len(o.Remove) == 0 {
		// Most routes and destinations have no operations: no write (see
		// setIfChanged).
		if o.removeKeys != nil {
			o.removeKeys = nil
		}
	} else {
		o.removeKeys = o.removeKeys[:0]
		for _, n := range o.Remove {
			o.removeKeys = append(o.removeKeys, http.CanonicalHeaderKey(n))
		}
	}
	for _, hs := range [][]HeaderValue{o.Set, o.Add} {
		for i := range hs {
			hs[i].key = http.CanonicalHeaderKey(hs[i].Name)
			hs[i].values = []string{hs[i].Value}
		}
	}
}

// expandTemplate turns an RE2 substitution with \N references into
// regexp.Expand's ${N} form, "$" written literally.
func expandTemplate(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '$':
			b.WriteString("$$")
		case c == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			b.WriteString("${")
			b.WriteByte(s[i+1])
			b.WriteByte('}')
			i++
		case c == '\\' && i+1 < len(s) && s[i+1] == '\\':
			b.WriteByte('\\')
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
