package icewarptest

import "net/http"

type davCollection struct {
	email, name string
	kind        string // C, E, T, N, J (icewarp.md §3)
}

func (s *Server) serveDAV(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not implemented", http.StatusNotImplemented)
}

// davCollectionsOf returns the account's collections. Called with s.mu held.
func (s *Server) davCollectionsOf(email string) []*davCollection { return nil }
