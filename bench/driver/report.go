package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// summary is the median of a target's samples (peak RSS: the maximum).
type summary struct {
	RPS            float64
	P50, P99, P999 time.Duration
	Errors         int64
	CPUPer10k      float64
	PeakRSSKiB     int64
	N              int
}

func median[T int64 | float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func summarize(samples []sample) summary {
	var rps, cpu []float64
	var p50, p99, p999 []time.Duration
	sum := summary{N: len(samples)}
	for _, s := range samples {
		rps = append(rps, s.RPS)
		cpu = append(cpu, s.CPUPer10k)
		p50, p99, p999 = append(p50, s.P50), append(p99, s.P99), append(p999, s.P999)
		sum.Errors += s.Errors
		sum.PeakRSSKiB = max(sum.PeakRSSKiB, s.PeakRSSKiB)
	}
	sum.RPS, sum.CPUPer10k = median(rps), median(cpu)
	sum.P50, sum.P99, sum.P999 = median(p50), median(p99), median(p999)
	return sum
}

// ratio formats v/ref as "1.05x", or "" when there is no reference.
func ratio(v, ref float64) string {
	if ref <= 0 || v < 0 {
		return ""
	}
	return fmt.Sprintf(" (%.2fx)", v/ref)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// printTable writes one markdown table: every scenario and target, each
// figure also as a ratio to nginx in the same scenario.
func printTable(w io.Writer, order []scenario, targets []string, results map[string]map[string][]sample) {
	fmt.Fprintln(w, "| scenario | target | req/s | p50 ms | p99 ms | p99.9 ms | errors | CPU s / 10k req | peak RSS MiB |")
	fmt.Fprintln(w, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, s := range order {
		res, ok := results[s.Name]
		if !ok {
			continue
		}
		var ref summary
		if n, ok := res["nginx"]; ok {
			ref = summarize(n)
		}
		for _, t := range targets {
			samples, ok := res[t]
			if !ok {
				continue
			}
			m := summarize(samples)
			cpu, rss := "-", "-"
			if m.CPUPer10k >= 0 && m.PeakRSSKiB > 0 {
				cpu = fmt.Sprintf("%.3f%s", m.CPUPer10k, ratio(m.CPUPer10k, ref.CPUPer10k))
				rss = fmt.Sprintf("%.1f%s", float64(m.PeakRSSKiB)/1024, ratio(float64(m.PeakRSSKiB), float64(ref.PeakRSSKiB)))
			}
			fmt.Fprintf(w, "| %s | %s | %.0f%s | %s%s | %s%s | %s%s | %d | %s | %s |\n", s.Name, t,
				m.RPS, ratio(m.RPS, ref.RPS),
				ms(m.P50), ratio(float64(m.P50), float64(ref.P50)),
				ms(m.P99), ratio(float64(m.P99), float64(ref.P99)),
				ms(m.P999), ratio(float64(m.P999), float64(ref.P999)),
				m.Errors, cpu, rss)
		}
	}
}
