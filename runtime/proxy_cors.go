package runtime

import (
	"net/http"
	"slices"
)

// Envoy's CORS filter with a route's policy: preflights from allowed
// origins are answered at the gateway; responses to allowed origins carry
// the allow-origin, credentials and expose headers.

// allows reports whether origin is allowed; an exact "*" allows any.
func (c *CORS) allows(origin string) bool {
	for i := range c.AllowOrigins {
		m := &c.AllowOrigins[i]
		if m.MatchString(origin) || (m.Kind == MatchExact && m.Value == "*") {
			return true
		}
	}
	return false
}

// preflight answers a CORS preflight and reports whether it did; other
// requests go on.
func (c *CORS) preflight(w http.ResponseWriter, r *http.Request, rt *Route) bool {
	origin := r.Header.Get("Origin")
	if r.Method != http.MethodOptions || origin == "" || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h := w.Header()
	if !c.allows(origin) {
		if c.ForwardUnmatchedPreflights {
			return false
		}
		rt.ResponseHeaders.apply(h)
		localReply(w, http.StatusOK, "", false)
		return true
	}
	h["Access-Control-Allow-Origin"] = []string{origin}
	if c.AllowCredentials {
		h["Access-Control-Allow-Credentials"] = valTrue
	}
	if c.AllowMethods != "" {
		h["Access-Control-Allow-Methods"] = []string{c.AllowMethods}
	}
	if c.AllowHeaders != "" {
		h["Access-Control-Allow-Headers"] = []string{c.AllowHeaders}
	}
	if c.MaxAge != "" {
		h["Access-Control-Max-Age"] = []string{c.MaxAge}
	}
	rt.ResponseHeaders.apply(h)
	localReply(w, http.StatusOK, "", false)
	return true
}

// mark sets the CORS response headers for an allowed origin.
func (c *CORS) mark(h http.Header, origin string) {
	if origin == "" || !c.allows(origin) {
		return
	}
	h["Access-Control-Allow-Origin"] = []string{origin}
	if c.AllowCredentials {
		h["Access-Control-Allow-Credentials"] = valTrue
	}
	if c.ExposeHeaders != "" {
		h["Access-Control-Expose-Headers"] = []string{c.ExposeHeaders}
	}
}

func (c *CORS) prepare() error {
	for i := range c.AllowOrigins {
		if err := c.AllowOrigins[i].prepare(); err != nil {
			return err
		}
	}
	c.AllowOrigins = slices.Clip(c.AllowOrigins)
	return nil
}
