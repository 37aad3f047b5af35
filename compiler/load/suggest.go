package load

import (
	"strings"
)

// closest returns the candidate nearest to s when it is near enough to be a
// likely typo: same letters ignoring case and '_', or a small edit distance.
func closest(s string, candidates []string) (string, bool) {
	norm := func(x string) string { return strings.ToLower(strings.ReplaceAll(x, "_", "")) }
	ns := norm(s)
	best, bestDist := "", -1
	for _, c := range candidates {
		if norm(c) == ns {
			return c, true
		}
		d := editDistance(ns, norm(c))
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := 2
	if len(s) <= 4 {
		limit = 1
	}
	if bestDist >= 0 && bestDist <= limit {
		return best, true
	}
	return "", false
}

// editDistance is the Damerau-Levenshtein (optimal string alignment)
// distance between a and b, counted in bytes.
func editDistance(a, b string) int {
	if len(a) > 256 || len(b) > 256 {
		// Not a typo of a field name; avoid quadratic work on huge keys.
		return max(len(a), len(b))
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
