package runtime

import "time"

// flushLatency bounds how long a proxied response's bytes may wait in the
// downstream buffer. A negative interval (flush after every write) makes
// ReverseProxy flush the headers from a timer goroutine and again after
// every body write: two write syscalls and a goroutine per response, the
// largest cost in the profile of docs/benchmarks.md. With a short bound a
// small response leaves in one write, and streaming stays as Envoy's:
// ReverseProxy flushes bodies of unknown length and event streams at once
// whatever this says.
const flushLatency = time.Millisecond
