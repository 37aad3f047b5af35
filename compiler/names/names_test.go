package names

import "testing"

func TestCoversAndIntersect(t *testing.T) {
	for _, c := range []struct {
		a, b, want string
		ok         bool
	}{
		{"a.example.com", "a.example.com", "a.example.com", true},
		{"*", "shop.example.com", "shop.example.com", true},
		{"*.example.com", "shop.example.com", "shop.example.com", true},
		{"shop.example.com", "*.example.com", "shop.example.com", true},
		{"*.example.com", "a.b.example.com", "a.b.example.com", true},
		{"*.com", "*.example.com", "*.example.com", true},
		{"*.example.com", "example.com", "", false},
		{"*.example.com", "badexample.com", "", false},
		{"a.example.com", "b.example.com", "", false},
	} {
		got, ok := Intersect(c.a, c.b)
		if got != c.want || ok != c.ok {
			t.Errorf("Intersect(%q, %q) = %q, %t; want %q, %t", c.a, c.b, got, ok, c.want, c.ok)
		}
	}
}

func TestFQDNAndGatewayRef(t *testing.T) {
	if got := FQDN("Webapp", "istioinaction"); got != "webapp.istioinaction.svc.cluster.local" {
		t.Errorf("FQDN = %q", got)
	}
	if got := FQDN("reviews.prod", "x"); got != "reviews.prod" {
		t.Errorf("FQDN kept a dotted name as %q", got)
	}
	for ref, want := range map[string]string{
		"mesh": "", "gw": "ns/gw", "./gw": "ns/gw", "other/gw": "other/gw",
		"gw.other": "other/gw", "gw.other.svc.cluster.local": "other/gw",
	} {
		if got := GatewayRef(ref, "ns"); got != want {
			t.Errorf("GatewayRef(%q) = %q, want %q", ref, got, want)
		}
	}
}
