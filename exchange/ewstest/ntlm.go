package ewstest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"net"
	"net/http"
	"strings"
	"sync"
	"unicode/utf16"

	"golang.org/x/crypto/md4" //nolint:staticcheck // NTLM is defined over MD4
)

// NTLM authenticates a TCP connection, not a request: the client sends
// NEGOTIATE, the server answers 401 with a CHALLENGE, the client sends
// AUTHENTICATE with the request, and later requests on that connection
// need no header [MS-NLMP §3.1; V ews.md §1.2 "NTLM authenticates a TCP
// connection"]. Only NTLMv2 responses are accepted, as on any Exchange
// since 2010 with default LmCompatibilityLevel [I].

type connKey struct{}

// connAuth is the NTLM state of one connection.
type connAuth struct {
	mu        sync.Mutex
	challenge []byte // sent in the CHALLENGE message, nil before
	ok        bool   // AUTHENTICATE verified
}

func connContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, &connAuth{})
}

// NTLM message types [MS-NLMP 2.2.1].
const (
	ntlmNegotiate    = 1
	ntlmChallenge    = 2
	ntlmAuthenticate = 3
)

func ntlmType(m []byte) uint32 {
	if len(m) < 12 || !bytes.Equal(m[:8], []byte("NTLMSSP\x00")) {
		return 0
	}
	return binary.LittleEndian.Uint32(m[8:12])
}

// ntlm handles an "Authorization: NTLM ..." header. It reports whether the
// request is authenticated; when it is not, it has written the response.
func (s *Server) ntlm(rw http.ResponseWriter, hr *http.Request) bool {
	ca, _ := hr.Context().Value(connKey{}).(*connAuth)
	if ca == nil {
		http.Error(rw, "no connection state", http.StatusInternalServerError)
		return false
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	auth := hr.Header.Get("Authorization")
	if auth == "" && ca.ok {
		return true
	}
	msg, err := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.TrimPrefix(auth, "NTLM ")))
	if err != nil || !strings.HasPrefix(auth, "NTLM ") {
		s.unauthorized(rw, hr)
		return false
	}
	switch ntlmType(msg) {
	case ntlmNegotiate:
		ca.ok = false
		ca.challenge = make([]byte, 8)
		s.mu.Lock()
		binary.LittleEndian.PutUint64(ca.challenge, s.rng.Uint64())
		s.mu.Unlock()
		rw.Header().Set("WWW-Authenticate", "NTLM "+base64.StdEncoding.EncodeToString(s.challengeMessage(ca.challenge)))
		http.Error(rw, "401 Unauthorized", http.StatusUnauthorized)
		return false
	case ntlmAuthenticate:
		if ca.challenge != nil && s.verifyNTLM(msg, ca.challenge) {
			ca.ok = true
			ca.challenge = nil
			s.login("ntlm")
			return true
		}
	}
	ca.challenge = nil
	s.unauthorized(rw, hr)
	return false
}

// unauthorized answers 401 offering the configured methods.
func (s *Server) unauthorized(rw http.ResponseWriter, hr *http.Request) {
	if s.opt.NTLM {
		rw.Header().Add("WWW-Authenticate", "NTLM")
	}
	rw.Header().Add("WWW-Authenticate", `Basic realm="`+hr.Host+`"`)
	http.Error(rw, "401 Unauthorized", http.StatusUnauthorized)
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

func fromUTF16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// domainUser splits the admin account into NetBIOS domain and user.
func (s *Server) domainUser() (string, string) {
	if d, u, ok := strings.Cut(s.opt.Username, `\`); ok {
		return d, u
	}
	return strings.ToUpper(strings.Split(s.Org.Domain, ".")[0]), s.opt.Username
}

// challengeMessage builds a CHALLENGE_MESSAGE [MS-NLMP 2.2.1.2] with the
// Unicode, NTLM, target-info and extended-session-security flags and the
// NetBIOS domain as target name and in the target info.
func (s *Server) challengeMessage(challenge []byte) []byte {
	domain, _ := s.domainUser()
	name := utf16le(domain)
	var info []byte
	info = binary.LittleEndian.AppendUint16(info, 2) // MsvAvNbDomainName
	info = binary.LittleEndian.AppendUint16(info, uint16(len(name)))
	info = append(info, name...)
	info = append(info, 0, 0, 0, 0) // MsvAvEOL
	const flags = 0x00000001 | 0x00000200 | 0x00080000 | 0x00800000
	m := []byte("NTLMSSP\x00")
	m = binary.LittleEndian.AppendUint32(m, ntlmChallenge)
	m = binary.LittleEndian.AppendUint16(m, uint16(len(name)))
	m = binary.LittleEndian.AppendUint16(m, uint16(len(name)))
	m = binary.LittleEndian.AppendUint32(m, 48)
	m = binary.LittleEndian.AppendUint32(m, flags)
	m = append(m, challenge...)
	m = append(m, make([]byte, 8)...)
	m = binary.LittleEndian.AppendUint16(m, uint16(len(info)))
	m = binary.LittleEndian.AppendUint16(m, uint16(len(info)))
	m = binary.LittleEndian.AppendUint32(m, uint32(48+len(name)))
	m = append(m, name...)
	return append(m, info...)
}

// field returns a variable-length field of an NTLM message.
func field(m []byte, at int) []byte {
	if len(m) < at+8 {
		return nil
	}
	n := int(binary.LittleEndian.Uint16(m[at:]))
	off := int(binary.LittleEndian.Uint32(m[at+4:]))
	if off < 0 || off+n > len(m) {
		return nil
	}
	return m[off : off+n]
}

// verifyNTLM checks an AUTHENTICATE_MESSAGE [MS-NLMP 2.2.1.3]: the user
// and domain must be the admin's, and the NTLMv2 proof must match the
// password [MS-NLMP 3.3.2: NTOWFv2, NTProofStr].
func (s *Server) verifyNTLM(m []byte, challenge []byte) bool {
	nt := field(m, 20)
	domain := fromUTF16le(field(m, 28))
	user := fromUTF16le(field(m, 36))
	wantDomain, wantUser := s.domainUser()
	if !strings.EqualFold(user, wantUser) || (domain != "" && !strings.EqualFold(domain, wantDomain)) || len(nt) <= 16 {
		return false
	}
	h := md4.New()
	h.Write(utf16le(s.opt.Password))
	mac := hmac.New(md5.New, h.Sum(nil))
	mac.Write(utf16le(strings.ToUpper(user) + domain))
	ntowf := mac.Sum(nil)
	mac = hmac.New(md5.New, ntowf)
	mac.Write(challenge)
	mac.Write(nt[16:])
	return hmac.Equal(mac.Sum(nil), nt[:16])
}
