//go:build race

package runtime

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// code that pools (regexp's matchers) allocates under it.
const raceEnabled = true
