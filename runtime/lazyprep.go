package runtime

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// A generated configuration prepares each virtual host on the first
// request that selects it. The literal sits in the binary's data segment
// (see nowrite.go), and preparing every route at start-up made every page
// of it resident: with 10,000 hosts, tens of MiB of a process that serves
// a few of them. gwc build runs the whole of Prepare on the same tables
// (codegen checks them before writing the literal), so a generated binary
// cannot meet a route error here; Prepare still checks at start what is
// global (listeners, host tables, TLS, clusters), and a configuration not
// marked Generated (tests, hand-written) is prepared whole at start, every
// error reported there.
//
// The state lives on the heap, one word per virtual host, not in the
// literal: marking a host prepared must not copy a page of it.

// Preparation states of a virtual host.
const (
	hostPending uint32 = iota
	hostReady
	hostFailed
)

// lazyHosts is the preparation state of one listener's virtual hosts.
type lazyHosts struct {
	// ready[vi] is virtual host vi's state; a request loads it once, and
	// once it is hostReady takes no lock.
	ready []atomic.Uint32
	// mu serialises preparations: rare (once per host) and short.
	mu sync.Mutex
	// failed holds the error of each host whose preparation failed.
	failed map[int]error
	// nclusters bounds cluster indexes; where names the listener in
	// errors, as Prepare does.
	nclusters int
	where     string
}

func newLazyHosts(nhosts, nclusters int, where string) *lazyHosts {
	return &lazyHosts{ready: make([]atomic.Uint32, nhosts), nclusters: nclusters, where: where}
}

// virtualHost returns virtual host vi of l prepared, or the error its
// preparation met; first says this call prepared it (and so should log a
// failure). vi must be in range.
func (l *Listener) virtualHost(vi int) (vh *VirtualHost, first bool, err error) {
	vh = &l.VirtualHosts[vi]
	lz := l.lazy
	if lz == nil || lz.ready[vi].Load() == hostReady {
		return vh, false, nil
	}
	first, err = lz.prepare(vh, vi)
	return vh, first, err
}

// prepare prepares vh, virtual host vi, unless it was already tried.
func (lz *lazyHosts) prepare(vh *VirtualHost, vi int) (first bool, err error) {
	lz.mu.Lock()
	defer lz.mu.Unlock()
	switch lz.ready[vi].Load() {
	case hostReady:
		return false, nil
	case hostFailed:
		return false, lz.failed[vi]
	}
	if errs := vh.prepare(lz.nclusters, nil); len(errs) > 0 {
		err := fmt.Errorf("%s: %w", lz.where, errors.Join(errs...))
		if lz.failed == nil {
			lz.failed = map[int]error{}
		}
		lz.failed[vi] = err
		lz.ready[vi].Store(hostFailed)
		return true, err
	}
	// The store publishes what vh.prepare wrote to the requests that load
	// hostReady.
	lz.ready[vi].Store(hostReady)
	return true, nil
}

// prepareAll prepares every virtual host not prepared yet, for what reads
// them all (the admin's config dump), and returns the errors met.
func (cfg *Config) prepareAll() error {
	var errs []error
	for li := range cfg.Listeners {
		l := &cfg.Listeners[li]
		if l.lazy == nil {
			continue
		}
		for vi := range l.VirtualHosts {
			if _, _, err := l.virtualHost(vi); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// PrepareVirtualHosts runs on cfg the part of Prepare a Generated config
// leaves to the first requests: every virtual host's routes and index. It
// reports the errors Prepare would, in the same words. gwc build runs it
// on the tables it is about to write, so a built binary never meets them.
func (cfg *Config) PrepareVirtualHosts() error {
	if cfg == nil {
		return errors.New("no configuration")
	}
	var errs []error
	regexes := regexCache{}
	for li := range cfg.Listeners {
		l := &cfg.Listeners[li]
		for vi := range l.VirtualHosts {
			for _, err := range l.VirtualHosts[vi].prepare(len(cfg.Clusters), regexes) {
				errs = append(errs, fmt.Errorf("%s: %w", listenerWhere(li, l), err))
			}
		}
	}
	return errors.Join(errs...)
}
