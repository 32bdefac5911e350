// Package console is the web console of iem-export and iem-import: a local
// web application that walks through the steps of a side of the
// migration, writes the same config file the command line reads, and runs
// the same engines in its own process with a live dashboard.
//
// The pages are html/template files and one small hand-written script,
// embedded in the binary. Every field is checked by internal/settings, so
// the console refuses what the command line refuses, in the same words.
//
// Security: the server listens on loopback unless told otherwise; a
// non-loopback address needs TLS. Every request carries the random access
// token (in the printed URL, then a cookie); every state-changing request
// also carries the page's CSRF token and, when the browser sends one, an
// Origin of the console itself. Secrets typed into the console go to 0600
// files next to the config and are never sent back to the browser.
package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"

	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/iemproject/iem/internal/cliutil"
)

//go:embed web
var webFS embed.FS

// cookiePrefix names the cookie that holds the access token after the
// first visit; the port follows, since browsers share cookies across the
// ports of a host (two consoles side by side keep their own).
const cookiePrefix = "iem-console-"

// Options are where and how the console listens.
type Options struct {
	// Listen is host:port; "" is 127.0.0.1 on a free port. A host that is
	// not a loopback address needs TLSCert and TLSKey.
	Listen          string
	TLSCert, TLSKey string
}

// A Server is the console's HTTP side: access token, CSRF, pages.
type Server struct {
	token  string // in the printed URL; then the cookie
	csrf   string // in every page; required on every state-changing request
	mux    *http.ServeMux
	tmpl   *template.Template
	tls    *tls.Config
	ln     net.Listener
	url    string
	cookie string
}

// randomToken returns 32 random bytes in hex.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return hex.EncodeToString(b)
}

// CheckListen refuses to serve a non-loopback address without TLS.
func CheckListen(addr string, withTLS bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return cliutil.Usagef("listen", "%q is not host:port: %v", addr, err)
	}
	if isLoopback(host) || withTLS {
		return nil
	}
	return cliutil.Usagef("listen", "%s is not a loopback address: the console serves other machines only over TLS (give --tls-cert and --tls-key)", addr)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewServer checks opt and starts listening; routes are added with Handle
// before Serve.
func NewServer(opt Options) (*Server, error) {
	addr := opt.Listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if (opt.TLSCert == "") != (opt.TLSKey == "") {
		return nil, cliutil.Usagef("tls-cert", "give both --tls-cert and --tls-key")
	}
	if err := CheckListen(addr, opt.TLSCert != ""); err != nil {
		return nil, err
	}
	s := &Server{token: randomToken(), csrf: randomToken(), mux: http.NewServeMux()}
	if opt.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(opt.TLSCert, opt.TLSKey)
		if err != nil {
			return nil, cliutil.Usagef("tls-cert", "%v", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	t, err := template.New("").Funcs(funcs).ParseFS(webFS, "web/*.html")
	if err != nil {
		return nil, err
	}
	s.tmpl = t
	static, _ := fs.Sub(webFS, "web")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, cliutil.Usagef("listen", "%v", err)
	}
	s.ln = ln
	scheme := "http"
	if s.tls != nil {
		scheme = "https"
		s.ln = tls.NewListener(ln, s.tls)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s.cookie = cookiePrefix + port
	host := ln.Addr().String()
	if h, p, _ := net.SplitHostPort(opt.Listen); h != "" && h != "0.0.0.0" && h != "::" && p != "0" {
		host = net.JoinHostPort(h, p)
	}
	s.url = scheme + "://" + host + "/?token=" + s.token
	return s, nil
}

// URL is the address to open, with the access token.
func (s *Server) URL() string { return s.url }

// Handle adds a route (a http.ServeMux pattern).
func (s *Server) Handle(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }

// Serve serves until ctx is done.
func (s *Server) Serve(ctx context.Context) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	if err := hs.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ServeHTTP checks the access token and, on state-changing requests, the
// CSRF token and the Origin, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // the first URL holds the token
	h.Set("Cache-Control", "no-store")
	if tok := r.URL.Query().Get("token"); tok != "" {
		if !same(tok, s.token) {
			http.Error(w, "wrong access token: open the URL the console printed when it started", http.StatusForbidden)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: s.cookie, Value: s.token, Path: "/", HttpOnly: true,
			Secure: s.tls != nil, SameSite: http.SameSiteStrictMode})
		q := r.URL.Query()
		q.Del("token")
		u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	c, err := r.Cookie(s.cookie)
	if err != nil || !same(c.Value, s.token) {
		http.Error(w, "no access token: open the URL the console printed when it started", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r) {
			http.Error(w, "cross-site request refused", http.StatusForbidden)
			return
		}
		if !same(r.Header.Get("X-CSRF-Token"), s.csrf) {
			http.Error(w, "missing or wrong CSRF token: reload the page", http.StatusForbidden)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

func same(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// sameOrigin: the Origin names this server (scheme, host and port).
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return u.Scheme == scheme && strings.EqualFold(u.Host, r.Host)
}

// page renders a page template with the CSRF token.
func (s *Server) page(w http.ResponseWriter, name string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["CSRF"] = s.csrf
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := s.tmpl.ExecuteTemplate(w, name, data); err != nil {
		fmt.Fprintf(w, "<p>template: %s</p>", template.HTMLEscapeString(err.Error()))
	}
}

// A field is one labelled input of a page.
type field struct {
	Name, Label, Type, Help, Value string
	Options                        []string
	Saved                          bool // a secret is saved (never its value)
}

var funcs = template.FuncMap{
	"fld": func(v map[string]string, name, label, typ, help string) *field {
		return &field{Name: name, Label: label, Type: typ, Help: help, Value: v[name]}
	},
	"opts": func(f *field, options ...string) *field {
		f.Options = options
		if f.Value == "" {
			f.Value = options[0]
		}
		return f
	},
	"secret": func(f *field, saved map[string]bool) *field {
		f.Value, f.Saved = "", saved[f.Name]
		return f
	},
}
