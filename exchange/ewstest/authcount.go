package ewstest

import (
	"bufio"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"sync"
)

// AuthCount counts the 401 responses of a server by what the refused
// request carried, so tests can check that a client never repeats a
// refused login (each refusal brings an AD account closer to lockout).
type AuthCount struct {
	mu sync.Mutex
	n  map[string]int
}

// CountAuth starts counting the server's 401 responses and returns the
// counter. Call it once, before the first request.
func (s *Server) CountAuth() *AuthCount {
	ac := &AuthCount{n: map[string]int{}}
	next := s.ts.Config.Handler
	s.ts.Config.Handler = http.HandlerFunc(func(rw http.ResponseWriter, hr *http.Request) {
		kind := authKind(hr.Header.Get("Authorization"))
		cw := &codeWriter{ResponseWriter: rw}
		next.ServeHTTP(cw, hr)
		if cw.code == http.StatusUnauthorized {
			ac.mu.Lock()
			ac.n[kind]++
			ac.n[""]++
			ac.mu.Unlock()
		}
	})
	return ac
}

// Refused returns the number of 401 responses to requests that carried
// kind of Authorization: "none" (no header: the anonymous first try of an
// NTLM client), "basic" (refused Basic credentials), "ntlm-negotiate"
// (answered with the CHALLENGE), "ntlm-authenticate" (a refused NTLM
// handshake), "other"; "" counts them all.
func (ac *AuthCount) Refused(kind string) int {
	ac.mu.Lock()
	defer ac.mu.Unlock()
	return ac.n[kind]
}

func authKind(auth string) string {
	scheme, tok, _ := strings.Cut(auth, " ")
	switch strings.ToLower(scheme) {
	case "":
		return "none"
	case "basic":
		return "basic"
	case "ntlm", "negotiate":
		msg, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(tok))
		switch ntlmType(msg) {
		case ntlmNegotiate:
			return "ntlm-negotiate"
		case ntlmAuthenticate:
			return "ntlm-authenticate"
		}
	}
	return "other"
}

// codeWriter records the status code; it keeps the Flusher and Hijacker
// the handlers use.
type codeWriter struct {
	http.ResponseWriter
	code int
}

func (w *codeWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *codeWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *codeWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *codeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.ResponseWriter.(http.Hijacker).Hijack()
}

func (w *codeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
