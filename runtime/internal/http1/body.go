package http1

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync"
)

// body is a request's body as its framing delimits it: Content-Length
// bytes, or chunks up to the last one and its trailer section. A
// transport's goroutine may read it while the handler writes the
// response, and after the handler returned; mu orders those reads with
// the connection's own use of the reader.
type body struct {
	mu      sync.Mutex
	c       *conn
	chunked bool
	remain  int64 // bytes left in the body or in the current chunk
	// state of a chunked body
	inChunk bool // remain counts chunk data, then its CRLF follows
	done    bool // the body ended (EOF reached)
	closed  bool // the handler returned: no more reads
	err     error
	// continue100 is set while an "Expect: 100-continue" has not been
	// answered: the first read sends the 100 first (RFC 9110 section
	// 10.1.1).
	continue100 bool
	req         *http.Request
}

func (b *body) reset(c *conn, r *http.Request) {
	b.c, b.req = c, r
	b.chunked, b.remain, b.inChunk, b.done, b.closed, b.err, b.continue100 = false, 0, false, false, false, nil, false
}

// errBodyClosed is what a read gets after the handler returned.
var errBodyClosed = errors.New("http1: read on a closed request body")

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return 0, errBodyClosed
	case b.err != nil:
		return 0, b.err
	case b.done:
		return 0, io.EOF
	}
	if b.continue100 {
		b.continue100 = false
		if err := b.c.writeContinue(); err != nil {
			b.err = err
			return 0, err
		}
	}
	var n int
	var err error
	if b.chunked {
		n, err = b.readChunked(p)
	} else {
		n, err = b.readFixed(p)
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func (b *body) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

func (b *body) readFixed(p []byte) (int, error) {
	if b.remain == 0 {
		b.done = true
		return 0, io.EOF
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.c.readBody(p)
	b.remain -= int64(n)
	if b.remain == 0 {
		b.done = true
		if n > 0 {
			return n, io.EOF
		}
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// readChunked reads RFC 9112 section 7.1's chunked coding.
func (b *body) readChunked(p []byte) (int, error) {
	for !b.inChunk || b.remain == 0 {
		if b.inChunk {
			// The CRLF after chunk data: exactly CRLF (RFC 9112 section
			// 7.1; a bare LF here is how "funky chunks" smuggle).
			line, err := b.c.readLine(0)
			if err != nil {
				return 0, err
			}
			if len(line) != 0 {
				return 0, errBadChunk
			}
			b.inChunk = false
		}
		line, err := b.c.readLine(maxChunkLine)
		if err != nil {
			return 0, err
		}
		n, err := parseChunkSize(line)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			if err := b.readTrailers(); err != nil {
				return 0, err
			}
			b.done = true
			return 0, io.EOF
		}
		b.inChunk, b.remain = true, n
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.c.readBody(p)
	b.remain -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// maxChunkLine bounds a chunk-size line with its extensions; Envoy and
// net/http allow about the same (net/http: 4096).
const maxChunkLine = 4096

// readTrailers reads the trailer section after the last chunk (RFC 9112
// section 7.1.2): header fields by the same rules as the head, then an
// empty line. They are merged into Request.Trailer, as net/http does.
func (b *body) readTrailers() error {
	total := 0
	for {
		line, err := b.c.readLine(maxChunkLine)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		total += len(line)
		if total > b.c.srv.maxHeaderBytes() {
			return errBadTrailer
		}
		buf := bytes.Clone(line)
		f, err := parseField(buf, 0, len(buf))
		if err != nil {
			return errBadTrailer
		}
		name := string(buf[f.name.off:f.name.end])
		switch name {
		case "Content-Length", "Transfer-Encoding", "Trailer", "Host":
			// RFC 9110 section 6.5.1: framing and routing fields cannot be
			// trailers.
			return errBadTrailer
		}
		if b.req.Trailer == nil {
			b.req.Trailer = http.Header{}
		}
		b.req.Trailer[name] = append(b.req.Trailer[name], string(buf[f.value.off:f.value.end]))
	}
}

// framingError reports whether err means the request's framing was
// broken, so the connection cannot carry another request and the answer
// is the engine's 400, whatever the handler made of it.
// Refusal reports whether err (or an error it wraps) is a request body
// the engine refused (its framing broke, or the request timeout fired),
// with the status to answer (the connection then closes) and Envoy's
// response code details.
func Refusal(err error) (status int, details string, ok bool) {
	var r *reject
	if errors.As(err, &r) {
		return r.status, r.reason, true
	}
	return 0, "", false
}

func framingError(err error) *reject {
	r, _ := err.(*reject)
	return r
}
