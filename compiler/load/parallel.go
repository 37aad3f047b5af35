package load

import (
	"fmt"
	"runtime"
	"sync"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/schema"
)

// Validating a document against the schema is most of the time of a large
// load, and documents do not depend on each other, so YAML and JSON
// documents are queued as they are read. Once enough are queued, workers
// start validating them while the rest of the input is read; otherwise
// flush validates them one by one. A CUE context is not safe for
// concurrent use: each worker has its own, with its own copy of the
// schema, built while the first documents are read. The loader that
// queued the documents takes each one's diagnostics and resources in input
// order, so the result is the same as reading them one by one.

// job is one queued document and what validating it found.
type job struct {
	file string
	expr ast.Expr

	diags diag.List
	found []candidate
	// panicked is what a panic while validating the document carried;
	// nil if there was none.
	panicked any
}

// candidate is a validated resource not yet recorded: valid resources
// go to Result.Resources, the others to Result.Rejected, unless they
// duplicate one recorded earlier.
type candidate struct {
	r     *Resource
	valid bool
}

// minParallelDocs is the fewest queued documents that start the workers:
// each builds the schema once, which costs as much as validating a few
// dozen documents.
var minParallelDocs = 64

// maxWorkers bounds the workers, and so the schemas built, on a large
// machine.
const maxWorkers = 8

// cpus is how many goroutines can run at once; tests change it.
var cpus = func() int { return runtime.GOMAXPROCS(0) }

// pool is the running workers.
type pool struct {
	jobs    chan *job
	workers sync.WaitGroup
	// pending counts the jobs sent and not yet done.
	pending sync.WaitGroup
}

func (l *loader) enqueue(file string, e ast.Expr) {
	j := &job{file: file, expr: e}
	l.queue = append(l.queue, j)
	if l.pool == nil && len(l.queue) >= minParallelDocs && cpus() > 1 && l.schema != nil {
		l.startPool(min(cpus(), maxWorkers))
		for _, q := range l.queue {
			l.send(q)
		}
		return
	}
	if l.pool != nil {
		l.send(j)
	}
}

func (l *loader) send(j *job) {
	l.pool.pending.Add(1)
	l.pool.jobs <- j
}

// startPool starts n workers, each in a CUE context of its own.
func (l *loader) startPool(n int) {
	p := &pool{jobs: make(chan *job, 256)}
	for range n {
		p.workers.Go(func() {
			w := &loader{ctx: cuecontext.New(), ns: l.ns, worker: true}
			v, err := schema.Build(w.ctx)
			if err == nil {
				w.schema = newSchemaInfo(v)
			}
			for j := range p.jobs {
				if err != nil {
					// The schema built for the loader already; a gwc bug.
					j.panicked = fmt.Errorf("building the schema: %w", err)
				} else {
					w.run(j)
				}
				p.pending.Done()
			}
		})
	}
	l.pool = p
}

// stopPool stops the workers, once everything queued is flushed.
func (l *loader) stopPool() {
	if l.pool != nil {
		close(l.pool.jobs)
		l.pool.workers.Wait()
		l.pool = nil
	}
}

// drop forgets the documents queued since the queue held n, as when the
// file they came from turns out not to parse. Workers may still be
// validating them; flush waits for them before the loader's context is
// used again.
func (l *loader) drop(n int) {
	l.queue = l.queue[:n]
}

// flush validates the queued documents and records what they hold, in
// the order they were queued.
func (l *loader) flush() {
	if l.pool != nil {
		l.pool.pending.Wait()
	}
	jobs := l.queue
	l.queue = nil
	if l.pool == nil {
		w := &loader{ctx: l.ctx, schema: l.schema, ns: l.ns, worker: true}
		for _, j := range jobs {
			w.run(j)
		}
	}
	stopped := "" // the file whose reading a panic stopped
	for _, j := range jobs {
		if j.file == stopped {
			continue
		}
		l.res.Diags = append(l.res.Diags, j.diags...)
		for _, c := range j.found {
			l.settle(c.r, c.valid)
		}
		if j.panicked != nil {
			// As guard reports it: the rest of the file is not read.
			l.errorf(diag.CodeInternal, diag.Pos{File: j.file}, "", "", fmt.Sprintf("internal error while loading this file: %v", j.panicked), "please report this as a gwc bug")
			stopped = j.file
		}
	}
}

// run validates one document, keeping what it found in the job.
func (w *loader) run(j *job) {
	w.res, w.found, w.tainted = Result{}, nil, false
	defer func() {
		j.panicked = recover()
		j.diags, j.found = w.res.Diags, w.found
	}()
	w.dataDocument(j.file, j.expr)
}
