package load

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"

	"github.com/gwc-dev/gwc/compiler/diag"
	"github.com/gwc-dev/gwc/schema"
)

// Validating a document against the schema is most of the time of a large
// load, and documents do not depend on each other, so YAML and JSON
// documents are queued as they are read and validated by several workers.
// A CUE context is not safe for concurrent use: each worker has its own,
// with its own copy of the schema. The loader that queued the documents
// then takes each one's diagnostics and resources in input order, so the
// result is the same as reading them one by one.

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

// minParallelDocs is the fewest queued documents worth a second worker:
// each worker builds the schema once, which costs as much as validating
// a few dozen documents.
var minParallelDocs = 64

// maxWorkers bounds the workers, and so the schemas built, on a large
// machine.
const maxWorkers = 8

func (l *loader) enqueue(file string, e ast.Expr) {
	l.queue = append(l.queue, &job{file: file, expr: e})
}

// flush validates the queued documents and records what they hold, in
// the order they were queued.
func (l *loader) flush() {
	jobs := l.queue
	l.queue = nil
	if len(jobs) == 0 {
		return
	}
	l.validate(jobs, workers(len(jobs)))
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

// workers is how many workers validate n documents.
func workers(n int) int {
	if n < minParallelDocs {
		return 1
	}
	return max(1, min(cpus(), maxWorkers, n/max(1, minParallelDocs/2)))
}

// cpus is how many goroutines can run at once; tests change it.
var cpus = func() int { return runtime.GOMAXPROCS(0) }

// validate runs the jobs on up to n workers. The first works in the
// loader's own context; a worker whose schema cannot be built (a gwc bug,
// reported by newLoader already) does not start.
func (l *loader) validate(jobs []*job, n int) {
	ws := []*loader{{ctx: l.ctx, schema: l.schema, ns: l.ns, worker: true}}
	if l.schema != nil {
		for len(ws) < n {
			w := &loader{ctx: cuecontext.New(), ns: l.ns, worker: true}
			v, err := schema.Build(w.ctx)
			if err != nil {
				break
			}
			w.schema = newSchemaInfo(v)
			ws = append(ws, w)
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				w.run(jobs[i])
			}
		})
	}
	wg.Wait()
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
