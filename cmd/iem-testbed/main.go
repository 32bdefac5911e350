//go:build !windows

// Command iem-testbed runs the Exchange (EWS), Exchange Online (Graph) and
// IceWarp emulators of exchange/ewstest, graph/graphtest and
// icewarp/icewarptest on loopback, with one generated organisation behind
// both sources, for `make demo` and for trying iem without real servers.
//
// It writes, into --dir, everything the two commands need: the directory as
// an ldifde file, password and secret files, export.conf and import.conf,
// and for the Graph leg graph.conf, graph-ca.pem (trust it with
// SSL_CERT_FILE) and import-graph.conf, a second IceWarp target. SIGUSR1
// produces the next round of changes in the organisation (new, changed,
// moved and deleted items, read-flag changes); SIGINT or SIGTERM stops it.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/graph/graphtest"
	"github.com/iemproject/iem/icewarp/icewarptest"
)

func main() {
	dir := flag.String("dir", "demo/servers", "folder for the generated config and secret files")
	users := flag.Int("users", 3, "ordinary user mailboxes (a shared and a room mailbox are added)")
	messages := flag.Int("messages", 4, "messages per mail folder")
	seed := flag.Int64("seed", 1, "seed of the generated organisation")
	flag.Parse()
	if err := run(*dir, *users, *messages, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "iem-testbed: error:", err)
		os.Exit(1)
	}
}

func run(dir string, users, messages int, seed int64) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	org := ewstest.Generate(seed, ewstest.OrgOptions{Users: users, MessagesPerFolder: messages})
	ews, err := ewstest.Start(org, nil)
	if err != nil {
		return err
	}
	defer ews.Close()
	g, err := graphtest.Start(org, nil)
	if err != nil {
		return err
	}
	defer g.Close()
	iw, err := icewarptest.Start(&icewarptest.Options{MailRoot: filepath.Join(dir, "icewarp-mail")})
	if err != nil {
		return err
	}
	defer iw.Close()
	iw2, err := icewarptest.Start(&icewarptest.Options{MailRoot: filepath.Join(dir, "icewarp-mail-graph")})
	if err != nil {
		return err
	}
	defer iw2.Close()
	importConf := func(iw *icewarptest.Server, pw string) string {
		return fmt.Sprintf("# iem-import settings for the IceWarp emulator\napi-url = %s\nadmin-user = %s\npassword-file = %s\nimap-addr = %s\nimap-tls = none\nimap-auth = authzid\nwebdav-url = %s\n", iw.URL(), iw.AdminEmail(), abs(dir, pw), iw.IMAPAddr(), iw.WebDAVURL())
	}

	var ldif bytes.Buffer
	if err := org.WriteLDIF(&ldif); err != nil {
		return err
	}
	files := map[string]string{
		"ad.ldf":            ldif.String(),
		"ews.pw":            ews.Password() + "\n",
		"icewarp.pw":        iw.AdminPassword() + "\n",
		"export.conf":       fmt.Sprintf("# iem-export settings for the EWS emulator\news-url = %s\nadmin-user = %s\npassword-file = %s\ntrust-cert = %s\ndirectory-file = %s\npublic-folders-group = Public Folders\n", ews.URL(), ews.Username(), abs(dir, "ews.pw"), ews.Fingerprint(), abs(dir, "ad.ldf")),
		"import.conf":       importConf(iw, "icewarp.pw"),
		"icewarp-graph.pw":  iw2.AdminPassword() + "\n",
		"import-graph.conf": importConf(iw2, "icewarp-graph.pw"),
		"graph.secret":      g.ClientSecret() + "\n",
		"graph-ca.pem":      string(g.CertPEM()),
		"graph.conf": fmt.Sprintf("# iem-export settings for the Exchange Online emulator (SSL_CERT_FILE=graph-ca.pem)\nsource = graph\ntenant = %s\nclient-id = %s\nclient-secret-file = %s\ngraph-endpoint = %s\nlogin-endpoint = %s\n",
			g.Tenant(), g.ClientID(), abs(dir, "graph.secret"), g.GraphURL(), strings.TrimSuffix(g.Authority(), "/"+g.Tenant())),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "round"), []byte("1\n"), 0o600); err != nil {
		return err
	}
	fmt.Printf("EWS emulator (%s) at %s\nGraph emulator at %s\nIceWarp emulators at %s (IMAP %s) and %s\nsettings in %s\n",
		ews.Personality(), ews.URL(), g.GraphURL(), iw.URL(), iw.IMAPAddr(), iw2.URL(), dir)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGINT, syscall.SIGTERM)
	round := 1
	for s := range sig {
		if s != syscall.SIGUSR1 {
			break
		}
		round++
		ews.NextRound(int64(round))
		os.WriteFile(filepath.Join(dir, "round"), []byte(fmt.Sprintf("%d\n", round)), 0o600)
		fmt.Printf("organisation changed: round %d\n", round)
	}
	return nil
}

func abs(dir, name string) string {
	p, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		return filepath.Join(dir, name)
	}
	return p
}
