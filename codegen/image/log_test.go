package image

import (
	"io"
	stdlog "log"
)

// log discards the test registry's request log.
func log() *stdlog.Logger { return stdlog.New(io.Discard, "", 0) }
