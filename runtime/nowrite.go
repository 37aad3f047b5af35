package runtime

// The generated Config is a Go literal: the linker places it in the
// binary's data segment, mapped from the file. A page of it that the
// process only reads stays a clean, shared page of the file; the first
// write to a page copies it (a copy-on-write fault) into private memory.
// Prepare reads every route at start-up, and with 10,000 hosts the
// literal is tens of MiB, so Prepare writes only what it changes: most
// fields it derives (a route's header keys, a match's regex cell) are
// empty or already right, and writing them anyway cost a page fault and
// a page copy per few routes.

// setIfChanged stores v in *p unless *p already holds it.
func setIfChanged[T comparable](p *T, v T) {
	if *p != v {
		*p = v
	}
}
