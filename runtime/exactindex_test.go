package runtime

import (
	"fmt"
	"net/http/httptest"
	"testing"
)

// TestExactIndexKeepsOrder: with the index, selection gives the route a
// plain in-order scan gives, whatever mix of exact-path routes, repeated
// paths with other conditions, and non-indexable routes in between.
func TestExactIndexKeepsOrder(t *testing.T) {
	to := []WeightedCluster{{Cluster: 0, Weight: 1}}
	var routes []Route
	for i := range 40 {
		switch i % 5 {
		case 0:
			routes = append(routes, Route{ID: fmt.Sprint(i), Matches: []Match{{Path: prefix(fmt.Sprintf("/p/%d", i%10))}}, Clusters: to})
		case 1:
			routes = append(routes, Route{ID: fmt.Sprint(i), Matches: []Match{{Path: exact(fmt.Sprintf("/p/%d", i%10)), Headers: []HeaderMatch{{Name: "x-a", Match: exact("1")}}}}, Clusters: to})
		case 2:
			routes = append(routes, Route{ID: fmt.Sprint(i), Matches: []Match{{Path: exact(fmt.Sprintf("/e/%d", i%7))}}, Clusters: to})
		case 3:
			routes = append(routes, Route{ID: fmt.Sprint(i), Matches: []Match{{Path: exact(fmt.Sprintf("/E/%d", i)), IgnoreCase: true}}, Clusters: to})
		case 4:
			routes = append(routes, Route{ID: fmt.Sprint(i), Matches: []Match{{Path: exact(fmt.Sprintf("/p/%d", i%10))}, {Path: exact("/two")}}, Clusters: to})
		}
	}
	routes = append(routes, Route{ID: "all", Clusters: to})
	cfg := &Config{
		Listeners: []Listener{{Port: 80, Protocol: "HTTP", Hosts: hosts(t, map[string]int32{"a": 0}, nil, -1), VirtualHosts: []VirtualHost{{Domain: "a", Routes: routes}}}},
		Clusters:  []Cluster{staticCluster("a", "127.0.0.1:1")},
	}
	if err := cfg.Prepare(); err != nil {
		t.Fatal(err)
	}
	vh := &cfg.Listeners[0].VirtualHosts[0]
	if vh.index == nil {
		t.Fatal("no index built")
	}
	for _, path := range []string{"/p/1", "/p/2", "/p/6", "/e/2", "/e/5", "/e/0", "/E/3", "/e/3", "/two", "/none", "/p/12"} {
		for _, hdr := range []string{"", "1"} {
			r := httptest.NewRequest("GET", path, nil)
			if hdr != "" {
				r.Header.Set("x-a", hdr)
			}
			want := -1
			for i := range vh.Routes {
				if vh.Routes[i].accepts(r, path) {
					want = i
					break
				}
			}
			if got := vh.Select(r); got != want {
				t.Errorf("%s x-a=%q: index selects %d, a scan %d", path, hdr, got, want)
			}
		}
	}
}
