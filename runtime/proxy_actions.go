package runtime

import (
	"regexp"
	"time"
)

// The table types of route actions other than forwarding. Like the rest of
// Config they are written by codegen and compiled by Prepare.

// QueryMatch matches one query parameter. In it MatchAny means the
// parameter must be present.
type QueryMatch struct {
	Name  string
	Match StringMatch
}

// HeaderOps are header operations on a request or a response, applied as
// Envoy applies them: Remove, then Set (overwrite or add), then Add (append).
type HeaderOps struct {
	Set    []HeaderValue
	Add    []HeaderValue
	Remove []string

	// removeKeys are Remove in net/http's canonical form; set by Prepare.
	removeKeys []string
}

// HeaderValue is one header and its value; Name is lower case.
type HeaderValue struct {
	Name, Value string

	key    string   // canonical form, set by Prepare
	values []string // []string{Value}, shared read-only
}

// Redirect answers with a redirect built as Envoy's RedirectAction builds
// it. Empty fields keep the request's part.
type Redirect struct {
	Scheme    string
	Authority string
	// Port, when not 0, goes into the Location (left out when it is the
	// scheme's default).
	Port int
	// Path replaces the whole path; the query is kept unless Path has one.
	Path string
	// RewritePrefix replaces MatchedPrefix with PrefixRewrite.
	RewritePrefix bool
	PrefixRewrite string
	MatchedPrefix string
	IgnoreCase    bool
	// Code is 301, 302, 303, 307 or 308.
	Code int
}

// DirectResponse answers with a fixed status and body.
type DirectResponse struct {
	Status int
	Body   string
}

// Rewrite changes the request before forwarding. An empty field changes
// nothing.
type Rewrite struct {
	// URI replaces MatchedPrefix at the start of the path (Envoy's
	// prefix_rewrite), or the whole path when WholePath.
	URI           string
	MatchedPrefix string
	WholePath     bool
	IgnoreCase    bool
	// RegexMatch and RegexSubst rewrite every match in the path; RegexSubst
	// uses \1-style references, as Envoy's regex_rewrite.
	RegexMatch, RegexSubst string
	Authority              string

	re       *regexp.Regexp // compiled RegexMatch
	template string         // RegexSubst in regexp.Expand form
}

// RetryPolicy is an Istio HTTPRetry with istiod's defaults applied.
type RetryPolicy struct {
	// Attempts is the number of retries after the first try; 0 disables
	// retrying.
	Attempts int
	// PerTryTimeout bounds each try; 0 is none.
	PerTryTimeout time.Duration
	// On lists Envoy retry conditions ("connect-failure", "5xx", ...).
	On []string
	// StatusCodes are retried under "retriable-status-codes".
	StatusCodes []int
	// Backoff is the base interval, 0 for Envoy's 25ms; the maximum is ten
	// times the base.
	Backoff time.Duration
	// AllowPreviousHosts lets a retry go to an endpoint already tried.
	AllowPreviousHosts bool

	on retryOn // On as a bit set; set by Prepare
}

// defaultRetry is istiod's built-in policy for a rule without retries.
var defaultRetry = RetryPolicy{
	Attempts: 2,
	On:       []string{"connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"},
}

// Fault is Envoy's fault filter for one route. A percentage is 0-100; 0
// never fires.
type Fault struct {
	Delay        time.Duration
	DelayPercent float64
	// AbortStatus is the HTTP status of an abort, 0 for none; AbortGRPC,
	// when 0 or more, aborts with that grpc-status instead.
	AbortStatus  int
	AbortGRPC    int
	AbortPercent float64
}

// Mirror copies requests to Cluster (an index into Config.Clusters).
type Mirror struct {
	Cluster int
	Percent float64
}

// CORS is Envoy's CORS filter policy for one route.
type CORS struct {
	AllowOrigins []StringMatch
	// AllowMethods, AllowHeaders and ExposeHeaders are joined with ",".
	AllowMethods, AllowHeaders, ExposeHeaders string
	// MaxAge is in seconds, "" for none.
	MaxAge                     string
	AllowCredentials           bool
	ForwardUnmatchedPreflights bool
}
