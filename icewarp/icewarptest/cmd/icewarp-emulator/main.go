// Command icewarp-emulator runs the icewarptest IceWarp emulator (admin API,
// IMAP, WebDAV and a mail path) on loopback until interrupted, for `make
// demo` and manual tries of iem-import. It prints the endpoints and the
// administrator's credentials as key=value lines on stdout; on exit it runs
// the mail path checker and exits 1 if it found problems.
//
// Usage:
//
//	icewarp-emulator [-addr 127.0.0.1:32000] [-imap-addr 127.0.0.1:10143] [-mail DIR]
//	                 [-admin admin@icewarp.test] [-admin-password-file FILE] [-tls]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/iemproject/iem/icewarp/icewarptest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "HTTP listen address (admin API and WebDAV)")
	imapAddr := flag.String("imap-addr", "127.0.0.1:0", "IMAP listen address")
	mail := flag.String("mail", "", "mail root directory (default: a temporary directory)")
	admin := flag.String("admin", "", "administrator email (default admin@icewarp.test)")
	pwFile := flag.String("admin-password-file", "", "file holding the administrator password (default admin-secret)")
	useTLS := flag.Bool("tls", false, "serve HTTPS with a self-signed certificate (its SHA-256 is printed as cert_sha256)")
	flag.Parse()
	if err := run(*addr, *imapAddr, *mail, *admin, *pwFile, *useTLS); err != nil {
		fmt.Fprintln(os.Stderr, "icewarp-emulator: error:", err)
		os.Exit(1)
	}
}

func run(addr, imapAddr, mail, admin, pwFile string, useTLS bool) error {
	var pw string
	if pwFile != "" {
		b, err := os.ReadFile(pwFile)
		if err != nil {
			return err
		}
		pw = strings.TrimSpace(string(b))
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv, err := icewarptest.Start(&icewarptest.Options{
		Addr: addr, IMAPAddr: imapAddr, MailRoot: mail, AdminEmail: admin, AdminPassword: pw, Logger: log, TLS: useTLS,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Printf("api_url=%s\nwebdav_url=%s\nimap_addr=%s\nmail_root=%s\nadmin=%s\n",
		srv.URL(), srv.WebDAVURL(), srv.IMAPAddr(), srv.MailRoot(), srv.AdminEmail())
	if useTLS {
		fmt.Printf("cert_sha256=%s\n", srv.CertSHA256())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	for _, a := range srv.Accounts() {
		log.Info("account", "email", a.Email, "type", a.Type, "members", len(a.Members), "refreshes", a.Refreshes)
	}
	return srv.CheckMailPath()
}
