package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gwc-dev/gwc/compiler"
	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/compiler/load"
)

// TestDifferential compares gwc vet --resource-only with Istio's verdict
// on every Istio resource of the repository and on the generated corpus.
// They must agree on valid or invalid, with one allowed difference: a
// resource Istio accepts and gwc refuses only with GWC0401 (valid in
// Istio, not supported by gwc), which docs/differences.md lists.
func TestDifferential(t *testing.T) {
	o, err := newOracle(os.Getenv("ORACLE_CRDS"))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := repoSamples("..")
	if err != nil {
		t.Fatal(err)
	}
	gen, err := generated()
	if err != nil {
		t.Fatal(err)
	}
	// ORACLE_ONLY=REGEXP keeps the samples whose origin (a kind and
	// field, a file) it matches, to iterate on one part; the figures need
	// it unset.
	if only := os.Getenv("ORACLE_ONLY"); only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			t.Fatal("ORACLE_ONLY:", err)
		}
		keep := func(l []sample) []sample {
			return slices.DeleteFunc(l, func(s sample) bool { return !re.MatchString(s.origin) })
		}
		repo, gen = keep(repo), keep(gen)
	}
	// Each seed is valid to both, or its mutants test nothing.
	for _, s := range gen {
		if !strings.HasSuffix(s.origin, " seed") {
			continue
		}
		if v := o.judge(s.data); !v.Valid {
			t.Fatalf("%s: Istio rejects it: %v", s.origin, v.Errors)
		}
		file := filepath.Join(t.TempDir(), "seed.yaml")
		if err := os.WriteFile(file, s.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if ds := vetResourceOnly(file); ds.HasErrors() {
			t.Fatalf("%s: gwc rejects it: %s", s.origin, render(ds))
		}
	}
	for _, c := range []struct {
		name    string
		samples []sample
	}{{"repository", repo}, {"generated", gen}} {
		t.Run(c.name, func(t *testing.T) {
			r := compare(t, o, c.samples)
			fmt.Printf("differential %s: %d resources, %d agree (%.1f%%), %d valid in Istio and refused by gwc with a GWC code, %d disagree\n",
				c.name, r.total, r.agree, 100*float64(r.agree)/float64(r.total), r.unsupported, len(r.disagree))
			fmt.Printf("differential %s: agreement %.2f%% apart from the unsupported forms\n", c.name,
				100*float64(r.agree)/float64(r.total-r.unsupported))
			for _, g := range slices.Sorted(maps.Keys(r.groups)) {
				n := r.groups[g]
				fmt.Printf("differential %s %s: %d resources, %d agree, %d valid in Istio and refused by gwc with a GWC code, %d disagree\n",
					c.name, g, n.total, n.agree, n.unsupported, n.disagree)
			}
			for _, m := range uniq(r.messages) {
				fmt.Printf("differential %s: valid in Istio, refused by gwc: %s\n", c.name, m)
			}
			for _, d := range r.disagree {
				t.Errorf("%s", d)
			}
		})
	}
}

type result struct {
	total, agree int
	unsupported  int      // valid in Istio, refused by gwc with a GWC code
	messages     []string // what gwc said of those
	disagree     []string
	groups       map[string]*counts // the same figures per API group
}

type counts struct{ total, agree, unsupported, disagree int }

// groupOf is the API group of a judged kind.
func groupOf(kind string) string {
	for g, ks := range kinds {
		if ks[kind] {
			return g
		}
	}
	return ""
}

func compare(t *testing.T, o *Oracle, samples []sample) result {
	dir := t.TempDir()
	r := result{groups: map[string]*counts{}}
	for i, s := range samples {
		v := o.judge(s.data)
		if v == nil || v.Skipped {
			continue
		}
		file := filepath.Join(dir, fmt.Sprintf("r%05d.yaml", i))
		if err := os.WriteFile(file, s.data, 0o644); err != nil {
			t.Fatal(err)
		}
		ds := vetResourceOnly(file)
		g := r.groups[groupOf(v.Kind)]
		if g == nil {
			g = &counts{}
			r.groups[groupOf(v.Kind)] = g
		}
		r.total++
		g.total++
		errs := ds.Count(diag.Error)
		switch {
		case v.Valid == (errs == 0):
			r.agree++
			g.agree++
		case v.Valid && onlyGWC(ds):
			r.unsupported++
			g.unsupported++
			for _, d := range ds {
				if d.Severity == diag.Error {
					r.messages = append(r.messages, d.Code+" "+d.Message)
				}
			}
		case v.Valid:
			g.disagree++
			r.disagree = append(r.disagree, fmt.Sprintf("%s: Istio accepts, gwc rejects: %s", s.origin, render(ds)))
		default:
			g.disagree++
			r.disagree = append(r.disagree, fmt.Sprintf("%s: Istio rejects, gwc accepts: %s: %s", s.origin, v.Stage, strings.Join(v.Errors, "; ")))
		}
	}
	return r
}

// vetResourceOnly is what gwc vet --resource-only runs on one file.
func vetResourceOnly(file string) diag.List {
	res := load.Load([]string{file}, load.Options{Namespace: "default"})
	return append(res.Diags, compiler.CheckResources(res.Resources, res.Rejected)...)
}

// onlyGWC reports whether every error is one gwc gives a resource Istio
// accepts: GWC0401 (valid in Istio, not supported by gwc), GWC0309 (a
// gwc annotation with a value gwc cannot use; Istio ignores annotations),
// GWC0304 (one port, two protocols in one Gateway), GWC0316 (a
// credentialName form gwc cannot map to a mounted Secret) and GWC0317
// (an AuthorizationPolicy condition gwc does not enforce, refused rather
// than ignored so that a policy never fails open).
func onlyGWC(ds diag.List) bool {
	for _, d := range ds {
		if d.Severity == diag.Error && !gwcOnly[d.Code] {
			return false
		}
	}
	return true
}

var gwcOnly = map[string]bool{diag.CodeUnsupported: true, diag.CodeAnnotation: true, diag.CodePortProtocol: true,
	diag.CodeCredentialForm: true, diag.CodeNotEnforced: true}

func render(ds diag.List) string {
	var b strings.Builder
	for _, d := range ds {
		if d.Severity == diag.Error {
			fmt.Fprintf(&b, "%s %s: %s; ", d.Code, d.Field, d.Message)
		}
	}
	return b.String()
}

func uniq(l []string) []string {
	l = slices.Clone(l)
	slices.Sort(l)
	return slices.Compact(l)
}
