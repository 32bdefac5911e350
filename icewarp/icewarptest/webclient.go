package icewarptest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/iemproject/iem/internal/xmltree"
)

// The WebClient's default folders: which folder of an account is its
// Drafts, Sent and Trash is kept per user in ~webmail/settings.xml,
// <settings><default_folders><item><drafts>u@d/Drafts</drafts><sent>u@d/Sent
// </sent><trash>u@d/Trash</trash></item></default_folders></settings>
// [V icewarp.md §1.7: SS22 _shared/tools/0~webmail/settings.xml,
// webmail/server/inc/user.php]. The emulator reads that file each time it
// needs them, so a file written in path mode counts at once (INFERRED: the
// WebClient reads its settings per session). "spam" is read as well
// (INFERRED, mailpath.DefaultFolderKeys).

// defaultFolderNames are IceWarp's English defaults [V icewarp.md §1.7:
// SS22 webmail/client/languages/en/data.xml], used for a key the file does
// not set (INFERRED: an unset entry means the default folder).
var defaultFolderNames = map[string]string{"drafts": "Drafts", "sent": "Sent", "trash": "Trash", "spam": "Spam"}

// specialUse is the RFC 6154 attribute of each default folder; that
// IceWarp's XLIST flags follow default_folders is INFERRED (icewarp.md §4).
var specialUse = map[string]imap.MailboxAttr{"drafts": imap.MailboxAttrDrafts, "sent": imap.MailboxAttrSent,
	"trash": imap.MailboxAttrTrash, "spam": imap.MailboxAttrJunk}

// DefaultFolders returns the folders an account's WebClient uses as
// drafts, sent, trash and spam (IMAP names, "/" between levels), from its
// settings.xml, IceWarp's default names where it sets none.
func (s *Server) DefaultFolders(email string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[strings.ToLower(email)]
	if a == nil {
		return nil, fmt.Errorf("icewarptest: no account %s", email)
	}
	return s.defaultFolders(a)
}

// defaultFolders reads settings.xml. Called with s.mu held.
func (s *Server) defaultFolders(a *account) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range defaultFolderNames {
		out[k] = v
	}
	data, err := os.ReadFile(filepath.Join(s.mailboxDir(a), "~webmail", "settings.xml"))
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	doc, err := xmltree.Parse(bytes.NewReader(data), xmltree.Options{OneRoot: true, MaxDepth: 64})
	if err != nil {
		return nil, fmt.Errorf("icewarptest: %s settings.xml: %w", a.email, err)
	}
	if item := doc.Root().Path("default_folders", "item"); item != nil {
		for k := range defaultFolderNames {
			v := strings.TrimSpace(item.Text(k))
			if v == "" {
				continue
			}
			// "<email>/<folder>" [V §1.7]; the email is the account's.
			owner, folder, ok := strings.Cut(v, "/")
			if !ok || !strings.EqualFold(owner, a.email) || folder == "" {
				return nil, fmt.Errorf("icewarptest: %s settings.xml: %s %q is not %s/<folder>", a.email, k, v, a.email)
			}
			out[k] = folder
		}
	}
	return out, nil
}

// applySpecialUse marks the account's default folders \Sent, \Drafts,
// \Trash and \Junk for LIST (RETURN (SPECIAL-USE)). Called with s.mu held.
func (s *Server) applySpecialUse(a *account) error {
	d, err := s.defaultFolders(a)
	if err != nil {
		return err
	}
	by := map[string][]imap.MailboxAttr{}
	for k, folder := range d {
		by[folder] = append(by[folder], specialUse[k])
	}
	a.user.SetSpecialUse(by)
	return nil
}

// WebClientSend models a message sent from the WebClient: its copy is
// saved in the account's current Sent folder, created if it does not
// exist yet (as the WebClient does for its default "Sent", INFERRED). It
// returns that folder.
func (s *Server) WebClientSend(email string, msg []byte) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[strings.ToLower(email)]
	if a == nil {
		return "", fmt.Errorf("icewarptest: no account %s", email)
	}
	d, err := s.defaultFolders(a)
	if err != nil {
		return "", err
	}
	sent := d["sent"]
	if !a.folders[sent] {
		if err := s.createFolder(a, sent); err != nil {
			return "", err
		}
	}
	if _, err := a.user.Append(sent, literal{bytes.NewReader(msg), int64(len(msg))},
		&imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: time.Now()}); err != nil {
		return "", err
	}
	return sent, s.applySpecialUse(a)
}
