package imapsink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"github.com/iemproject/iem/internal/retry"
)

// conn is one IMAP connection of a Mailbox. It is used by one goroutine at
// a time (it lives in the Mailbox's pool while idle).
type conn struct {
	c        *imapclient.Client
	selected string // mailbox name currently selected, "" if none
	numMsgs  uint32 // from SELECT; unknownCount after later commands
}

const unknownCount = ^uint32(0)

// redactor is a DebugWriter wrapper that serialises writes from several
// connections and hides authentication exchanges.
type redactor struct {
	mu   sync.Mutex
	w    io.Writer
	mute atomic.Int32
}

func (r *redactor) Write(p []byte) (int, error) {
	if r.mute.Load() > 0 {
		return len(p), nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.w.Write(p)
}

func (r *redactor) note(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	io.WriteString(r.w, s)
}

// dial opens and authenticates one connection for mailbox.
func (m *Mailbox) dial(ctx context.Context) (*conn, error) {
	opt := &m.opt
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", opt.Addr)
	if err != nil {
		return nil, retryable(&OpError{Op: "CONNECT", Mailbox: m.name, Err: err})
	}
	copts := &imapclient.Options{}
	if m.debug != nil {
		copts.DebugWriter = m.debug
	}
	tlsConfig := func() *tls.Config {
		cfg := opt.TLSConfig.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			host, _, _ := net.SplitHostPort(opt.Addr)
			cfg.ServerName = host
		}
		return cfg
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	var c *imapclient.Client
	switch opt.TLS {
	case TLSImplicit:
		tc := tls.Client(nc, tlsConfig())
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, &OpError{Op: "TLS", Mailbox: m.name, Err: err}
		}
		c = imapclient.New(tc, copts)
	case TLSStartTLS:
		copts.TLSConfig = tlsConfig()
		c, err = imapclient.NewStartTLS(nc, copts)
		if err != nil {
			nc.Close()
			return nil, m.classify(&OpError{Op: "STARTTLS", Mailbox: m.name, Err: err})
		}
	default:
		c = imapclient.New(nc, copts)
	}
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, m.classify(&OpError{Op: "GREETING", Mailbox: m.name, Err: err})
	}
	if err := m.login(c); err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ie *imap.Error
		if errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo {
			return nil, &OpError{Op: "LOGIN", Mailbox: m.name, Err: errors.Join(ErrAuth, err)}
		}
		return nil, m.classify(&OpError{Op: "LOGIN", Mailbox: m.name, Err: err})
	}
	return &conn{c: c}, nil
}

func (m *Mailbox) login(c *imapclient.Client) error {
	opt := &m.opt
	if m.debug != nil {
		m.debug.note("[authentication redacted]\r\n")
		m.debug.mute.Add(1)
		defer m.debug.mute.Add(-1)
	}
	switch opt.AuthzMode {
	case AuthzMasterUser:
		sep := opt.MasterSeparator
		if sep == "" {
			sep = "*"
		}
		return c.Login(m.name+sep+opt.AdminUser, opt.AdminPassword).Wait()
	case AuthzNone:
		return c.Login(opt.AdminUser, opt.AdminPassword).Wait()
	default:
		return c.Authenticate(sasl.NewPlainClient(m.name, opt.AdminUser, opt.AdminPassword))
	}
}

func retryable(err error) error { return retry.Temporary(err) }

// classify is the package's one shouldRetry: server answers that say "try
// later" and every transport failure (anything that is not an IMAP status
// response) are retried; other NO/BAD answers are permanent.
func (m *Mailbox) classify(err error) error {
	if err == nil {
		return nil
	}
	var ie *imap.Error
	if errors.As(err, &ie) {
		switch ie.Code {
		case imap.ResponseCodeUnavailable, imap.ResponseCodeInUse, imap.ResponseCodeLimit, "SERVERBUG":
			return retryable(err)
		}
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrAuth) || errors.Is(err, ErrSize) || errors.Is(err, ErrNotRewindable) ||
		errors.Is(err, ErrNoBody) || errors.Is(err, ErrClosed) || errors.As(err, new(bodyError)) {
		return err
	}
	return retryable(err)
}

// isBroken reports whether err means the connection can no longer be used.
func isBroken(err error) bool {
	var be bodyError
	return isTransport(err) && !errors.Is(err, ErrSize) && !errors.Is(err, ErrNoBody) &&
		!errors.Is(err, ErrNotRewindable) && !errors.As(err, &be)
}

// isTransport reports whether err came from the connection rather than from
// a server answer.
func isTransport(err error) bool {
	var ie *imap.Error
	return err != nil && !errors.As(err, &ie)
}

// acquire takes a connection from the pool, dialling it if needed.
func (m *Mailbox) acquire(ctx context.Context) (*conn, error) {
	var cn *conn
	select {
	case cn = <-m.pool:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-m.closed:
		return nil, ErrClosed
	}
	if cn != nil {
		select {
		case <-cn.c.Closed():
			cn.c.Close()
			cn = nil
		default:
		}
	}
	if cn == nil {
		var err error
		cn, err = m.dial(ctx)
		if err != nil {
			m.pool <- nil
			return nil, err
		}
		if m.dials.Add(1) > 1 {
			m.log.Info("reconnected", "mailbox", m.name)
		}
	}
	return cn, nil
}

// release returns cn to the pool; broken connections are closed and
// replaced by an empty slot.
func (m *Mailbox) release(cn *conn, err error) {
	if cn != nil && err != nil && isBroken(err) {
		cn.c.Close()
		cn = nil
	}
	m.pool <- cn
}

// with runs fn on a pooled connection under the retry policy. fn's errors
// are classified; a broken connection is replaced before the next attempt.
// The connection is closed if ctx ends while fn runs.
func (m *Mailbox) with(ctx context.Context, op string, fn func(ctx context.Context, cn *conn, attempt int) error) error {
	attempt := 0
	return retry.Do(ctx, m.policy, op, func(ctx context.Context) error {
		attempt++
		cn, err := m.acquire(ctx)
		if err != nil {
			return err
		}
		stop := context.AfterFunc(ctx, func() { cn.c.Close() })
		err = fn(ctx, cn, attempt)
		if !stop() && err == nil {
			err = ctx.Err()
		}
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
			cn.c.Close()
			m.pool <- nil
			return err
		}
		m.release(cn, err)
		return m.classify(err)
	})
}

// selectFolder makes name the selected mailbox of cn.
func (m *Mailbox) selectFolder(cn *conn, name string) error {
	if cn.selected == name {
		// Make messages stored by other connections visible.
		if err := cn.c.Noop().Wait(); err != nil {
			return &OpError{Op: "NOOP", Mailbox: m.name, Folder: name, Err: err}
		}
		cn.numMsgs = unknownCount
		return nil
	}
	data, err := cn.c.Select(name, nil).Wait()
	if err != nil {
		cn.selected = ""
		return &OpError{Op: "SELECT", Mailbox: m.name, Folder: name, Err: err}
	}
	cn.selected = name
	cn.numMsgs = data.NumMessages
	return nil
}
