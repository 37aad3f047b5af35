package runtime

import (
	"bytes"
	"strconv"
)

// lineHash is 64-bit FNV-1a.
type lineHash uint64

func newLineHash() lineHash { return 14695981039346656037 }

func (h lineHash) addByte(c byte) lineHash { return (h ^ lineHash(c)) * 1099511628211 }

func (h lineHash) addString(s string) lineHash {
	for i := 0; i < len(s); i++ {
		h = h.addByte(s[i])
	}
	return h
}

type framerState uint8

const (
	fsStart     framerState = iota // before a request line; CR and LF skipped
	fsLine                         // in the request line
	fsHeaders                      // in the header block
	fsBody                         // in a Content-Length body
	fsChunkSize                    // in a chunk-size line
	fsChunkData                    // in chunk data
	fsChunkEnd                     // in the CRLF after chunk data
	fsLastCRLF                     // in the CRLF after the last chunk (trailers lose track)
	fsLost                         // not following any more
)

const (
	keepLine = 256  // bytes of a line kept for inspection
	maxQueue = 256  // verdicts waiting; more pipelined requests lose track
	maxChunk = 4096 // net/http's read buffer, which must hold a chunk-size line
)

// framer is the guard's model of net/http's HTTP/1.1 request framing (see
// guard.go for why it exists): it follows the byte stream as net/http
// frames it and queues a verdict per request. Where net/http would reject
// the input (and close the connection) the framer just stops following.
type framer struct {
	state framerState
	queue []verdict

	// request line
	hash      lineHash
	spaces    int
	pendingCR bool
	proto     [8]byte
	protoLen  int

	// current line (headers and chunk sizes)
	line      [keepLine]byte
	lineLen   int
	lineTotal int

	// header block
	http10    bool
	nheaders  int
	fold      bool
	upgrade   bool
	clCount   int
	clFirst   [32]byte
	clFirstN  int
	clBad     bool
	teCount   int
	teChunked bool

	// body
	remain uint64
	crlf   int   // bytes of a CRLF seen
	excess int64 // net/http's chunk overhead accounting
}

func (f *framer) lose() {
	f.state = fsLost
	f.queue = f.queue[:0]
}

func (f *framer) startMessage() {
	f.state = fsLine
	f.hash = newLineHash()
	f.spaces, f.pendingCR, f.protoLen = 0, false, 0
	f.lineLen, f.lineTotal = 0, 0
	f.http10, f.nheaders, f.fold, f.upgrade = false, 0, false, false
	f.clCount, f.clFirstN, f.clBad = 0, 0, false
	f.teCount, f.teChunked = 0, false
	f.excess = 0
}

// feed follows b, the next bytes net/http read.
func (f *framer) feed(b []byte) {
	for len(b) > 0 {
		switch f.state {
		case fsLost:
			return
		case fsStart:
			i := 0
			for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
				i++
			}
			b = b[i:]
			if len(b) > 0 {
				f.startMessage()
			}
		case fsLine:
			b = f.feedRequestLine(b)
		case fsHeaders:
			n, done := f.takeLine(b)
			b = b[n:]
			if done {
				f.headerLine()
			}
		case fsBody:
			if b = f.skip(b); f.remain == 0 {
				f.state = fsStart
			}
		case fsChunkSize:
			n, done := f.takeLine(b)
			b = b[n:]
			if done {
				f.chunkSizeLine()
			}
		case fsChunkData:
			if b = f.skip(b); f.remain == 0 {
				f.state, f.crlf = fsChunkEnd, 0
			}
		case fsChunkEnd, fsLastCRLF:
			if b[0] != "\r\n"[f.crlf] {
				f.lose() // net/http rejects it (or, after the last chunk, reads trailers)
				return
			}
			b = b[1:]
			f.crlf++
			if f.crlf == 2 {
				if f.state == fsChunkEnd {
					f.state = fsChunkSize
					f.lineLen, f.lineTotal = 0, 0
				} else {
					f.state = fsStart
				}
			}
		}
	}
}

// feedRequestLine hashes the request line as net/http will see it (without
// its CRLF or LF) and keeps the protocol version after the second space.
func (f *framer) feedRequestLine(b []byte) []byte {
	for i, c := range b {
		if c == '\n' {
			f.requestLineDone()
			return b[i+1:]
		}
		if f.pendingCR {
			f.pendingCR = false
			f.lineByte('\r')
		}
		if c == '\r' {
			f.pendingCR = true
			continue
		}
		f.lineByte(c)
	}
	return nil
}

func (f *framer) lineByte(c byte) {
	f.hash = f.hash.addByte(c)
	if c == ' ' && f.spaces < 2 {
		f.spaces++
		return
	}
	if f.spaces == 2 {
		if f.protoLen < len(f.proto) {
			f.proto[f.protoLen] = c
		}
		f.protoLen++
	}
}

func (f *framer) requestLineDone() {
	p := f.proto[:min(f.protoLen, len(f.proto))]
	if f.spaces < 2 || f.protoLen != 8 || string(p[:5]) != "HTTP/" || p[5] != '1' || p[6] != '.' || p[7] < '0' || p[7] > '9' {
		// HTTP/2's preface, HTTP/0.9, 2.0 or garbage: net/http either
		// switches to h2c or rejects the request.
		f.lose()
		return
	}
	f.http10 = p[7] == '0'
	f.state = fsHeaders
	f.lineLen, f.lineTotal = 0, 0
}

// takeLine consumes b up to and including the next LF, keeping the first
// keepLine bytes of the line; done reports whether the line ended.
func (f *framer) takeLine(b []byte) (n int, done bool) {
	i := bytes.IndexByte(b, '\n')
	part := b
	if i >= 0 {
		part = b[:i]
	}
	if f.lineLen < len(f.line) {
		f.lineLen += copy(f.line[f.lineLen:], part)
	}
	f.lineTotal += len(part)
	if i < 0 {
		return len(b), false
	}
	return i + 1, true
}

// headerLine handles one complete header line (or the blank line ending the
// block) as net/http's textproto reader splits it.
func (f *framer) headerLine() {
	line := f.line[:f.lineLen]
	truncated := f.lineTotal > f.lineLen
	f.lineLen, f.lineTotal = 0, 0
	if !truncated && len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if !truncated && len(line) == 0 {
		f.headersDone()
		return
	}
	if line[0] == ' ' || line[0] == '\t' {
		f.fold = true
		return
	}
	f.nheaders++
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		if !truncated {
			f.lose() // net/http rejects a line without a colon
		}
		return // a name longer than keepLine is none we care about
	}
	name, value := line[:colon], line[colon+1:]
	switch {
	case asciiEqualFold(name, "content-length"):
		if truncated {
			f.lose()
			return
		}
		value = trimOWS(value)
		f.clCount++
		if f.clCount == 1 {
			if len(value) > len(f.clFirst) {
				f.lose()
				return
			}
			f.clFirstN = copy(f.clFirst[:], value)
		} else if !bytes.Equal(value, f.clFirst[:f.clFirstN]) {
			f.clBad = true
		}
	case asciiEqualFold(name, "transfer-encoding"):
		if truncated {
			f.lose()
			return
		}
		f.teCount++
		f.teChunked = f.teCount == 1 && asciiEqualFold(trimOWS(value), "chunked")
	case asciiEqualFold(name, "upgrade"):
		f.upgrade = true
	}
}

// headersDone decides the request's verdict and how its body is framed,
// in net/http's order: Transfer-Encoding, then Content-Length.
func (f *framer) headersDone() {
	action := frameOK
	switch {
	case f.fold:
		action = frameBadRequest
	case f.nheaders > maxRequestHeaders:
		action = frameTooManyHeaders
	case f.teCount > 0 && f.clCount > 0 && !f.http10:
		action = frameBadRequest
	}
	if len(f.queue) >= maxQueue {
		f.lose()
		return
	}
	f.queue = append(f.queue, verdict{line: uint64(f.hash), action: action})
	if action != frameOK || f.upgrade || f.http10 {
		// The connection closes after this request (the handler answers
		// 1.0 with 426 and closes too), or may switch protocols.
		f.state = fsLost
		return
	}
	switch {
	case f.teCount > 0:
		if !f.teChunked {
			f.lose() // net/http answers 501 and closes
			return
		}
		f.state = fsChunkSize
		f.lineLen, f.lineTotal = 0, 0
	case f.clCount > 0:
		n, err := strconv.ParseUint(string(f.clFirst[:f.clFirstN]), 10, 63)
		if err != nil || f.clBad {
			f.lose() // net/http answers 400 and closes
			return
		}
		if n == 0 {
			f.state = fsStart
			return
		}
		f.state, f.remain = fsBody, n
	default:
		f.state = fsStart
	}
}

// chunkSizeLine parses a chunk-size line as net/http's chunked reader does:
// CRLF only, extensions ignored, at most 16 hex digits, and a bound on
// non-data overhead.
func (f *framer) chunkSizeLine() {
	line := f.line[:f.lineLen]
	total := f.lineTotal
	truncated := total > f.lineLen
	f.lineLen, f.lineTotal = 0, 0
	if total >= maxChunk { // with its LF, the line overflows net/http's buffer
		f.lose()
		return
	}
	if truncated {
		// A long extension; the size part must be in what was kept.
		semi := bytes.IndexByte(line, ';')
		if semi < 0 || bytes.IndexByte(line, '\r') >= 0 {
			f.lose()
			return
		}
		line = line[:semi]
	} else {
		if cr := bytes.IndexByte(line, '\r'); cr != len(line)-1 {
			f.lose() // bare LF, or CR inside the line
			return
		}
		line = line[:len(line)-1]
		line = trimTrailingOWS(line)
		if semi := bytes.IndexByte(line, ';'); semi >= 0 {
			line = line[:semi]
		}
	}
	if len(line) == 0 || len(line) > 16 {
		f.lose()
		return
	}
	var n uint64
	for _, c := range line {
		d, ok := unhex(c)
		if !ok {
			f.lose()
			return
		}
		n = n<<4 | uint64(d)
	}
	f.excess += int64(total) + 1 - 16 - 2*int64(min(n, 1<<40)) // +1: the LF; the CR is in total
	f.excess = max(f.excess, 0)
	if f.excess > 16*1024 {
		f.lose()
		return
	}
	if n == 0 {
		f.state, f.crlf = fsLastCRLF, 0
		return
	}
	f.state, f.remain = fsChunkData, n
}

func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return trimTrailingOWS(b)
}

func trimTrailingOWS(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// skip consumes up to f.remain bytes of body or chunk data from b and
// returns the rest.
func (f *framer) skip(b []byte) []byte {
	n := min(uint64(len(b)), f.remain)
	f.remain -= n
	return b[n:]
}
