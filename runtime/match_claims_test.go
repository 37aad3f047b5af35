package runtime

import (
	"net/http/httptest"
	"testing"
)

// TestClaimMatches routes on the claims of a verified token as istiod's
// metadata matchers do: strings, any string of a list, nested names (dot
// and bracket forms, case kept), withoutHeaders; no token, no match.
func TestClaimMatches(t *testing.T) {
	vh := preparedVH(t,
		Route{ID: "admin", Matches: []Match{{Headers: []HeaderMatch{{Name: "@request.auth.claims.group", Match: exact("admin")}}}}},
		Route{ID: "role", Matches: []Match{{Headers: []HeaderMatch{{Name: "@request.auth.claims.roles", Match: prefix("ops-")}}}}},
		Route{ID: "team", Matches: []Match{{Headers: []HeaderMatch{{Name: "@request.auth.claims[org][Team]", Match: regex("pay.*")}}}}},
		Route{ID: "nested-dot", Matches: []Match{{Headers: []HeaderMatch{{Name: "@request.auth.claims.org.Unit", Match: exact("x")}}}}},
		Route{ID: "present", Matches: []Match{{Path: prefix("/p"), Headers: []HeaderMatch{{Name: "@request.auth.claims.sub"}}}}},
		Route{ID: "not-guest", Matches: []Match{{Path: prefix("/w"), WithoutHeaders: []HeaderMatch{{Name: "@request.auth.claims.group", Match: exact("guest")}}}}},
		Route{ID: "default"},
	)
	tests := []struct {
		path   string
		claims map[string]any // nil: no identity
		want   string
	}{
		{"/", nil, "default"},
		{"/", map[string]any{"group": "admin"}, "admin"},
		{"/", map[string]any{"group": "Admin"}, "default"},
		{"/", map[string]any{"roles": []any{"dev", "ops-lead"}}, "role"},
		{"/", map[string]any{"roles": []any{"dev", 3}}, "default"},
		{"/", map[string]any{"org": map[string]any{"Team": "payments"}}, "team"},
		{"/", map[string]any{"org": map[string]any{"team": "payments"}}, "default"},
		{"/", map[string]any{"org": map[string]any{"Unit": "x"}}, "nested-dot"},
		{"/", map[string]any{"group": 7}, "default"},
		{"/p", map[string]any{"sub": "alice"}, "present"},
		{"/p", nil, "default"},
		{"/w", nil, "not-guest"},
		{"/w", map[string]any{"group": "guest"}, "default"},
		{"/w", map[string]any{"group": "user"}, "not-guest"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "http://x"+tt.path, nil)
		if tt.claims != nil {
			r = WithIdentity(r, &Identity{Claims: tt.claims})
		}
		i := vh.Select(r)
		if got := vh.Routes[i].ID; i < 0 || got != tt.want {
			t.Errorf("%s %v: route %q, want %q", tt.path, tt.claims, got, tt.want)
		}
	}
}
