package icewarpsink

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/iemproject/iem/icewarp"
	"github.com/iemproject/iem/icewarp/icewarptest"
	"github.com/iemproject/iem/icewarp/imapsink"
	"github.com/iemproject/iem/replay"
)

// The Sinks the engine uses must be implemented here.
var (
	_ replay.Accounts  = (*Accounts)(nil)
	_ replay.Mail      = (*Mail)(nil)
	_ replay.MailFiles = (*Files)(nil)
	_ replay.Groupware = (*Groupware)(nil)
)

// TestSinksOnEmulator drives each adapter once against the IceWarp
// emulator: an account, a folder that does not exist (ErrNoFolder), an
// APPEND found again with skipExisting, flags, and refused WebDAV
// credentials (ErrCredentials).
func TestSinksOnEmulator(t *testing.T) {
	iw, err := icewarptest.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer iw.Close()
	ctx := context.Background()
	admin := loginAdmin(t, iw)
	acc := NewAccounts(admin, "")
	const user = "alice@example.com"
	if err := acc.EnsureDomain(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	pw, err := acc.GeneratePassword()
	if err != nil {
		t.Fatal(err)
	}
	if created, err := acc.EnsureAccount(ctx, replay.Account{Email: user, Name: "Alice", Password: pw}); err != nil || !created {
		t.Fatalf("EnsureAccount: %v, %v", created, err)
	}
	if created, err := acc.EnsureAccount(ctx, replay.Account{Email: user, Name: "Alice", Password: pw}); err != nil || created {
		t.Fatalf("EnsureAccount again: %v, %v", created, err)
	}
	if g := acc.PublicFoldersGroup("example.com"); g.Email != "public-folders@example.com" || g.Properties["g_groupwareshared"] != "1" {
		t.Errorf("PublicFoldersGroup = %+v", g)
	}

	mail := NewMail(imapsink.Options{Addr: iw.IMAPAddr(), TLS: imapsink.TLSNone, AdminUser: iw.AdminEmail(), AdminPassword: iw.AdminPassword()})
	mb, err := mail.Open(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	folder := []string{"Projects"}
	if err := mb.List(ctx, folder, func(replay.Summary) error { return nil }); !errors.Is(err, replay.ErrNoFolder) {
		t.Errorf("List of a missing folder: %v, want ErrNoFolder", err)
	}
	body := []byte("From: a@example.org\r\nMessage-ID: <x1@iem.test>\r\nSubject: x\r\n\r\nbody\r\n")
	date := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	msg := replay.Message{Size: int64(len(body)), InternalDate: date, MessageID: "<x1@iem.test>",
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }}
	res, err := mb.AppendBatch(ctx, folder, []replay.Message{msg}, false)
	if err != nil || len(res) != 1 || res[0].Err != nil || res[0].UID == 0 {
		t.Fatalf("AppendBatch: %+v, %v", res, err)
	}
	again, err := mb.AppendBatch(ctx, folder, []replay.Message{msg}, true)
	if err != nil || len(again) != 1 || !again[0].Existing || again[0].UID != res[0].UID {
		t.Errorf("AppendBatch with skipExisting: %+v, %v; want the first copy found", again, err)
	}
	if err := mb.SetFlags(ctx, folder, []imap.UID{res[0].UID}, []imap.Flag{imap.FlagSeen}); err != nil {
		t.Error(err)
	}
	var got []replay.Summary
	if err := mb.List(ctx, folder, func(s replay.Summary) error { got = append(got, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].MessageID != "x1@iem.test" || got[0].Size != int64(len(body)) || !got[0].InternalDate.Equal(date) {
		t.Errorf("List = %+v", got)
	}
	if uid, found, err := mb.Find(ctx, folder, "<x1@iem.test>", date, int64(len(body))); err != nil || !found || uid != res[0].UID {
		t.Errorf("Find = %d, %v, %v", uid, found, err)
	}

	gw, err := NewGroupware(iw.WebDAVURL(), "", iw.AdminEmail(), "wrong password", icewarp.TLSOptions{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = gw.Put(ctx, user, []string{"Contacts"}, gw.ResourceName("x", "text/vcard"), "text/vcard; charset=utf-8",
		[]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nEND:VCARD\r\n"))
	if !errors.Is(err, replay.ErrCredentials) {
		t.Errorf("Put with a wrong password: %v, want ErrCredentials", err)
	}
}
