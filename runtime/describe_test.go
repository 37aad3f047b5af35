package runtime

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// everyFieldRoute sets every exported field of a Route, down to the
// leaves.
func everyFieldRoute() (*Config, *Route) {
	cfg := &Config{Clusters: []Cluster{{Name: "outbound|80||a"}, {Name: "outbound|80||b"}}}
	sm := func(k MatchKind, v string) StringMatch { return StringMatch{Kind: k, Value: v} }
	r := &Route{
		ID: "vs.yaml:3:5 ns/vs http[0]",
		Matches: []Match{{
			Path: sm(MatchPrefix, "/api"), Method: sm(MatchExact, "GET"),
			Headers: []HeaderMatch{{Name: "x-h", Match: sm(MatchRegex, "h.*")}},
			Name:    "m0", IgnoreCase: true,
			WithoutHeaders: []HeaderMatch{{Name: "x-no", Match: sm(MatchExact, "no")}},
			Query:          []QueryMatch{{Name: "q", Match: sm(MatchExact, "qv")}},
		}},
		Clusters: []WeightedCluster{{
			Cluster: 1, Weight: 70,
			RequestHeaders:  HeaderOps{Set: []HeaderValue{{Name: "x-ds", Value: "dsv"}}, Add: []HeaderValue{{Name: "x-da", Value: "dav"}}, Remove: []string{"x-dr"}},
			ResponseHeaders: HeaderOps{Set: []HeaderValue{{Name: "x-dts", Value: "dtsv"}}, Add: []HeaderValue{{Name: "x-dta", Value: "dtav"}}, Remove: []string{"x-dtr"}},
			Authority:       "dest.example",
		}},
		Compression:     []string{"gzip", "zstd;level=3"},
		MaxRequestBytes: 4096,
		Redirect: &Redirect{Scheme: "https", Authority: "redir.example", Port: 8443, Path: "/p", RewritePrefix: true,
			PrefixRewrite: "/new", MatchedPrefix: "/old", IgnoreCase: true, Code: 308},
		DirectResponse: &DirectResponse{Status: 418, Body: "teapot"},
		Rewrite: &Rewrite{URI: "/v2", MatchedPrefix: "/v1", WholePath: true, IgnoreCase: true,
			RegexMatch: "^/r/(.*)$", RegexSubst: `/\1`, Authority: "rw.example"},
		RequestHeaders:         HeaderOps{Set: []HeaderValue{{Name: "x-rs", Value: "rsv"}}, Add: []HeaderValue{{Name: "x-ra", Value: "rav"}}, Remove: []string{"x-rr"}},
		ResponseHeaders:        HeaderOps{Set: []HeaderValue{{Name: "x-ts", Value: "tsv"}}, Add: []HeaderValue{{Name: "x-ta", Value: "tav"}}, Remove: []string{"x-tr"}},
		DestinationHeadersLast: true,
		Timeout:                3 * time.Second,
		Retry: &RetryPolicy{Attempts: 4, PerTryTimeout: 700 * time.Millisecond, On: []string{"5xx"}, StatusCodes: []int{409},
			Backoff: 30 * time.Millisecond, AllowPreviousHosts: true},
		Fault:   &Fault{Delay: 2 * time.Second, DelayPercent: 12.5, AbortStatus: 503, AbortGRPC: 14, AbortPercent: 7.5},
		Mirrors: []Mirror{{Cluster: 1, Percent: 25}},
		CORS: &CORS{AllowOrigins: []StringMatch{sm(MatchExact, "https://o.example")}, AllowMethods: "GET,PUT",
			AllowHeaders: "x-ch", ExposeHeaders: "x-ce", MaxAge: "600", AllowCredentials: true, ForwardUnmatchedPreflights: true},
	}
	return cfg, r
}

// leaves lists the exported leaf fields of t, as dotted paths, through
// structs, pointers to them and slices of them.
func leaves(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Duration]() {
			out = append(out, leaves(ft, prefix+f.Name+".")...)
			continue
		}
		out = append(out, prefix+f.Name)
	}
	return out
}

// TestDescribeRouteShowsEveryField: the description gwc routes prints and
// the admin serves shows every match condition and every action of a
// route. A field added to Route fails this test until the description
// shows it and the table below says where.
func TestDescribeRouteShowsEveryField(t *testing.T) {
	cfg, r := everyFieldRoute()
	for _, path := range leaves(reflect.TypeFor[Route](), "") {
		if !leafSet(reflect.ValueOf(*r), strings.Split(path, ".")) {
			t.Errorf("everyFieldRoute leaves %s unset", path)
		}
	}
	// A route redirects, answers directly or forwards, and rewrites one
	// way; a fault aborts with a status or a gRPC code. The description
	// says what the runtime does, so each variant is described.
	variants := []func(*Route){
		func(v *Route) { v.DirectResponse = nil }, // redirect
		func(v *Route) { v.Redirect = nil },       // direct response
		func(v *Route) { v.DirectResponse, v.Redirect = nil, &Redirect{Path: "/p", Code: 301} },
		func(v *Route) { v.Redirect, v.DirectResponse = nil, nil },
		func(v *Route) {
			v.Redirect, v.DirectResponse = nil, nil
			v.Rewrite = &Rewrite{URI: "/v2", MatchedPrefix: "/v1", IgnoreCase: true}
			v.Fault = &Fault{AbortGRPC: 14, AbortPercent: 7.5}
		},
		func(v *Route) {
			v.Redirect, v.DirectResponse = nil, nil
			v.Rewrite = &Rewrite{RegexMatch: "^/r/(.*)$", RegexSubst: `/\1`}
		},
	}
	var text strings.Builder
	for _, vary := range variants {
		v := *r
		vary(&v)
		d := cfg.DescribeRoute(&v)
		text.WriteString(d.ID + "\n" + strings.Join(d.Matches, " | ") + "\n" + strings.Join(d.Action, "; ") + "\n")
	}
	shows := map[string]string{
		"ID":                                 "vs.yaml:3:5 ns/vs http[0]",
		"Matches.Path.Kind":                  `uri prefix "/api"`,
		"Matches.Path.Value":                 `"/api"`,
		"Matches.Method.Kind":                `method exact "GET"`,
		"Matches.Method.Value":               `"GET"`,
		"Matches.Headers.Name":               `header x-h regex "h.*"`,
		"Matches.Headers.Match.Kind":         `x-h regex`,
		"Matches.Headers.Match.Value":        `"h.*"`,
		"Matches.Name":                       "(m0)",
		"Matches.IgnoreCase":                 "ignoreUriCase",
		"Matches.WithoutHeaders.Name":        `without x-no exact "no"`,
		"Matches.WithoutHeaders.Match.Kind":  `x-no exact`,
		"Matches.WithoutHeaders.Match.Value": `"no"`,
		"Matches.Query.Name":                 `query q exact "qv"`,
		"Matches.Query.Match.Kind":           `q exact`,
		"Matches.Query.Match.Value":          `"qv"`,
		"Clusters.Cluster":                   "-> outbound|80||b (70",
		"Clusters.Weight":                    "(70,",
		"Clusters.RequestHeaders.Set.Name":   "request headers set x-ds: dsv",
		"Clusters.RequestHeaders.Set.Value":  "x-ds: dsv",
		"Clusters.RequestHeaders.Add.Name":   "add x-da: dav",
		"Clusters.RequestHeaders.Add.Value":  "x-da: dav",
		"Clusters.RequestHeaders.Remove":     "remove x-dr",
		"Clusters.ResponseHeaders.Set.Name":  "response headers set x-dts: dtsv",
		"Clusters.ResponseHeaders.Set.Value": "x-dts: dtsv",
		"Clusters.ResponseHeaders.Add.Name":  "add x-dta: dtav",
		"Clusters.ResponseHeaders.Add.Value": "x-dta: dtav",
		"Clusters.ResponseHeaders.Remove":    "remove x-dtr",
		"Clusters.Authority":                 "authority dest.example",
		"Compression":                        "compress gzip, zstd;level=3",
		"MaxRequestBytes":                    "max request body 4096 bytes",
		"DestinationHeadersLast":             "destination header operations after the route's",
		"Redirect.Scheme":                    "scheme=https",
		"Redirect.Authority":                 "authority=redir.example",
		"Redirect.Port":                      "port=8443",
		"Redirect.Path":                      "path=/p;",
		"Redirect.RewritePrefix":             "path=/old* -> /new*",
		"Redirect.PrefixRewrite":             "-> /new*",
		"Redirect.MatchedPrefix":             "path=/old*",
		"Redirect.IgnoreCase":                "/new* ignoring case",
		"Redirect.Code":                      "redirect 308",
		"DirectResponse.Status":              "direct response 418",
		"DirectResponse.Body":                `(6 bytes) "teapot"`,
		"Rewrite.URI":                        "rewrite path to /v2",
		"Rewrite.MatchedPrefix":              "rewrite prefix /v1 to /v2",
		"Rewrite.WholePath":                  "rewrite path to",
		"Rewrite.IgnoreCase":                 "/v2 ignoring case",
		"Rewrite.RegexMatch":                 `rewrite "^/r/(.*)$"`,
		"Rewrite.RegexSubst":                 `to "/\\1"`,
		"Rewrite.Authority":                  "authority rw.example",
		"RequestHeaders.Set.Name":            "request headers set x-rs: rsv",
		"RequestHeaders.Set.Value":           "x-rs: rsv",
		"RequestHeaders.Add.Name":            "add x-ra: rav",
		"RequestHeaders.Add.Value":           "x-ra: rav",
		"RequestHeaders.Remove":              "remove x-rr",
		"ResponseHeaders.Set.Name":           "response headers set x-ts: tsv",
		"ResponseHeaders.Set.Value":          "x-ts: tsv",
		"ResponseHeaders.Add.Name":           "add x-ta: tav",
		"ResponseHeaders.Add.Value":          "x-ta: tav",
		"ResponseHeaders.Remove":             "remove x-tr",
		"Timeout":                            "timeout 3s",
		"Retry.Attempts":                     "retries 4",
		"Retry.PerTryTimeout":                "per try 700ms",
		"Retry.On":                           "on 5xx",
		"Retry.StatusCodes":                  "5xx (409)",
		"Retry.Backoff":                      "backoff 30ms",
		"Retry.AllowPreviousHosts":           "retries may reuse hosts",
		"Fault.Delay":                        "delay 2s",
		"Fault.DelayPercent":                 "delay 2s at 12.5%",
		"Fault.AbortStatus":                  "abort 503 at 7.5%",
		"Fault.AbortGRPC":                    "abort grpc-status 14 at 7.5%",
		"Fault.AbortPercent":                 "at 7.5%",
		"Mirrors.Cluster":                    "mirror outbound|80||b",
		"Mirrors.Percent":                    "outbound|80||b at 25%",
		"CORS.AllowOrigins.Kind":             `origins exact "https://o.example"`,
		"CORS.AllowOrigins.Value":            `"https://o.example"`,
		"CORS.AllowMethods":                  "methods GET,PUT",
		"CORS.AllowHeaders":                  "headers x-ch",
		"CORS.ExposeHeaders":                 "expose x-ce",
		"CORS.MaxAge":                        "max-age 600",
		"CORS.AllowCredentials":              " credentials",
		"CORS.ForwardUnmatchedPreflights":    "forward-unmatched-preflights",
	}
	for _, path := range leaves(reflect.TypeFor[Route](), "") {
		want, ok := shows[path]
		if !ok {
			t.Errorf("Route field %s: the description does not say how it shows (add it to DescribeRoute and this table)", path)
			continue
		}
		if want != "" && !strings.Contains(text.String(), want) {
			t.Errorf("Route field %s: the description lacks %q", path, want)
		}
	}
	if t.Failed() {
		t.Logf("descriptions:\n%s", text.String())
	}
}

// leafSet says the leaf at path is set in v, in the first element of
// each slice on the way.
func leafSet(v reflect.Value, path []string) bool {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Slice {
		if v.IsNil() || (v.Kind() == reflect.Slice && v.Len() == 0) {
			return false
		}
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		} else {
			v = v.Index(0)
		}
	}
	if len(path) == 0 {
		return !v.IsZero()
	}
	return leafSet(v.FieldByName(path[0]), path[1:])
}
