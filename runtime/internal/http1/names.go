package http1

import (
	"net/http"
	"strconv"
)

// methods are the methods Envoy's HTTP/1 codec knows (those of the
// llhttp/http-parser method table); others are refused with 400. Matching
// returns the constant, so a method costs no allocation.
var methods = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
		"COPY", "LOCK", "MKCOL", "MOVE", "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK",
		"BIND", "REBIND", "UNBIND", "ACL", "REPORT", "MKACTIVITY", "CHECKOUT", "MERGE",
		"M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "PURGE", "MKCALENDAR",
		"LINK", "UNLINK", "SOURCE",
	} {
		m[s] = s
	}
	return m
}()

func internMethod(b []byte) string { return methods[string(b)] }

// commonNames are header names that arrive on most requests, interned so
// that their keys cost nothing and let the parser recognise the ones that
// frame the message.
var commonNames = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
		"Connection", "Content-Length", "Content-Type", "Cookie", "Expect", "Host",
		"If-Modified-Since", "If-None-Match", "Keep-Alive", "Origin", "Pragma", "Referer",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "User-Agent", "Http2-Settings",
		"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Request-Id",
		"X-Real-Ip", "Traceparent", "Tracestate", "Sec-Websocket-Key", "Sec-Websocket-Version",
		"Sec-Websocket-Protocol", "Sec-Websocket-Extensions", "Sec-Fetch-Site", "Sec-Fetch-Mode",
		"Sec-Fetch-Dest", "Grpc-Timeout", "Content-Encoding", "Range", "Dnt",
	} {
		m[s] = s
	}
	return m
}()

// canonical returns the interned name for a canonicalised header name, or
// "" when it is not a common one.
func canonical(name []byte) string { return commonNames[string(name)] }

// statusLines holds "HTTP/1.1 code text\r\n" for every code net/http names.
var statusLines = func() (t [600]string) {
	for c := 100; c < 600; c++ {
		if s := http.StatusText(c); s != "" {
			t[c] = "HTTP/1.1 " + strconv.Itoa(c) + " " + s + "\r\n"
		}
	}
	return t
}()
