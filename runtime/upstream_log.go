package runtime

import (
	"context"
	"log/slog"
	"slices"
	"time"
)

// endpointWatchInterval is how often the endpoint watcher looks.
const endpointWatchInterval = time.Second

// endpointWatch logs upstream state changes: a cluster's endpoint set as
// requests see it (DNS answers now; outlier ejections once they exist). It
// compares snapshots, so the code that changes endpoints needs no logger.
type endpointWatch struct {
	ups  []*upstream
	log  *slog.Logger
	last [][]string
}

func newEndpointWatch(ups []*upstream, log *slog.Logger) *endpointWatch {
	w := &endpointWatch{ups: ups, log: log, last: make([][]string, len(ups))}
	for i, up := range ups {
		w.last[i] = slices.Clone(up.current())
	}
	return w
}

// check logs every cluster whose endpoints changed since the last check.
func (w *endpointWatch) check() {
	for i, up := range w.ups {
		cur := up.current()
		if slices.Equal(cur, w.last[i]) {
			continue
		}
		level := slog.LevelInfo
		if len(cur) == 0 {
			level = slog.LevelWarn
		}
		w.log.Log(context.Background(), level, "upstream endpoints changed", "cluster", up.cluster.Name,
			"endpoints", cur, "before", len(w.last[i]))
		w.last[i] = slices.Clone(cur)
	}
}

// run checks every endpointWatchInterval until stop is closed.
func (w *endpointWatch) run(stop <-chan struct{}) {
	t := time.NewTicker(endpointWatchInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			w.check()
		}
	}
}
