package mailpath

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/iemproject/iem/internal/xmltree"
)

// SettingsFile is the WebClient settings file of an account, relative to
// its mailbox directory [V icewarp.md §1.2: MS domainmove.sh].
const SettingsFile = "~webmail/settings.xml"

// DefaultFolderKeys are the elements of <default_folders><item> that name
// an account's drafts, sent and trash folders [V icewarp.md §1.7: SS22
// _shared/tools/0~webmail/settings.xml; webmail/server/inc/user.php types
// D, S, H], and "spam", which iem writes too: IceWarp's own file has no
// spam element (INFERRED that the WebClient ignores or uses it; IceWarp's
// antispam files into the server-wide C_AS_SpamFolderName, §1.3).
var DefaultFolderKeys = []string{"drafts", "sent", "trash", "spam"}

// DefaultFolderValue is how settings.xml names an account's folder:
// "<email>/<folder>" with "/" between levels, e.g. "u@d/Sent" [V §1.7].
// That non-ASCII names are written in UTF-8 (not modified UTF-7) is
// INFERRED: the file is UTF-8 XML.
func DefaultFolderValue(email string, folder []string) string {
	return email + "/" + strings.Join(folder, "/")
}

// ReadDefaultFolders returns the <default_folders> entries of an account's
// settings.xml by key (drafts, sent, …); a missing file or element gives
// an empty map.
func (s *Store) ReadDefaultFolders(accountDir string) (map[string]string, error) {
	acct, err := s.AccountDir(accountDir)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(acct, filepath.FromSlash(SettingsFile)))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("mailpath: read settings: %w", err)
	}
	return ParseDefaultFolders(data)
}

// ParseDefaultFolders reads the <default_folders><item> entries of a
// settings.xml document.
func ParseDefaultFolders(data []byte) (map[string]string, error) {
	out := map[string]string{}
	if len(bytes.TrimSpace(data)) == 0 {
		return out, nil
	}
	doc, err := xmltree.Parse(bytes.NewReader(data), xmltree.Options{OneRoot: true, MaxDepth: 64, Fold: true})
	if err != nil {
		return nil, fmt.Errorf("mailpath: settings.xml: %w", err)
	}
	item := doc.Root().Path("default_folders", "item")
	if item == nil {
		return out, nil
	}
	for _, c := range item.Elems() {
		out[strings.ToLower(c.Local)] = strings.TrimSpace(string(c.CharData))
	}
	return out, nil
}

// MergeDefaultFolders returns settings.xml data with the given
// <default_folders><item> entries set (by key), keeping every other
// setting of the document; empty data starts a new <settings> document.
func MergeDefaultFolders(data []byte, set map[string]string) ([]byte, error) {
	var root *xmltree.Node
	if len(bytes.TrimSpace(data)) > 0 {
		doc, err := xmltree.Parse(bytes.NewReader(data), xmltree.Options{OneRoot: true, MaxDepth: 64, FirstText: true})
		if err != nil {
			return nil, fmt.Errorf("mailpath: settings.xml: %w", err)
		}
		root = doc.Root()
	}
	if root == nil {
		root = &xmltree.Node{Local: "settings"}
	}
	item := child(child(root, "default_folders"), "item")
	for _, k := range DefaultFolderKeys {
		if v, ok := set[k]; ok {
			child(item, k).CharData = []byte(v)
		}
	}
	var b bytes.Buffer
	b.WriteString(xmlHeader)
	root.Encode(&b, false)
	b.WriteByte('\n')
	return b.Bytes(), nil
}

const xmlHeader = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"

// child returns n's first child element named local, appended if missing.
func child(n *xmltree.Node, local string) *xmltree.Node {
	for _, c := range n.Children {
		if strings.EqualFold(c.Local, local) {
			return c
		}
	}
	c := &xmltree.Node{Local: local}
	n.Children = append(n.Children, c)
	n.CharData = bytes.TrimSpace(n.CharData) // a container keeps no indentation
	return c
}

// SetDefaultFolders merges the entries into the account's settings.xml
// (MergeDefaultFolders) and replaces the file crash-safely: a temporary
// file in ~webmail, fsynced, renamed over the old one, the directory
// fsynced; a crash leaves the old file or the new one, never half of one
// (and at most a temporary file, which the next call removes).
// Unchanged entries leave the file untouched.
func (s *Store) SetDefaultFolders(accountDir string, set map[string]string) error {
	acct, err := s.AccountDir(accountDir)
	if err != nil {
		return err
	}
	p := filepath.Join(acct, filepath.FromSlash(SettingsFile))
	// What an interrupted write left: never IceWarp's, always ours.
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".iem-*.tmp"))
	for _, l := range left {
		os.Remove(l)
	}
	old, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("mailpath: read settings: %w", err)
	}
	if have, err := ParseDefaultFolders(old); err == nil {
		same := true
		for k, v := range set {
			same = same && have[k] == v
		}
		if same {
			return nil
		}
	}
	data, err := MergeDefaultFolders(old, set)
	if err != nil {
		return err
	}
	dir, err := s.mkdirs(acct, "~webmail")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".iem-*.tmp")
	if err != nil {
		return fmt.Errorf("mailpath: settings: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.chown(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("mailpath: replace settings: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("mailpath: sync %s: %w", dir, err)
	}
	return nil
}
