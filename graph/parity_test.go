package graph_test

import (
	"context"
	"testing"

	"github.com/iemproject/iem/archive"
	"github.com/iemproject/iem/exchange"
	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/export"
)

// TestEngineRound2LikeEWS: after the same Org.Mutate, round 2 over Graph
// finds, exports, deletes and re-flags what the EWS Source does on a
// second copy of the org, and archives the same entries per kind: a
// message whose only change is its read state is a state entry (a flag
// change), not a lost change (it was counted unchanged, its new read
// state never archived) nor a new message version.
func TestEngineRound2LikeEWS(t *testing.T) {
	b, org, ewsSrc, ewsDir := newTwinBeds(t, 5, 2)
	b.run(t, "")
	runExport(t, org, ewsSrc, ewsDir, "")
	b.org.Mutate(6)
	org.Mutate(6)
	got, want := b.run(t, ""), runExport(t, org, ewsSrc, ewsDir, "")
	if got.Found != want.Found || got.Exported != want.Exported || got.Unchanged != want.Unchanged || got.Deleted != want.Deleted {
		t.Errorf("round 2 over Graph: found %d exported %d unchanged %d deleted %d; over EWS %d %d %d %d",
			got.Found, got.Exported, got.Unchanged, got.Deleted, want.Found, want.Exported, want.Unchanged, want.Deleted)
	}
	gk, wk := lastRoundKinds(t, b.dir), lastRoundKinds(t, ewsDir)
	for _, k := range []archive.Kind{archive.KindMessage, archive.KindState, archive.KindTombstone, archive.KindFolder, archive.KindContact, archive.KindEvent} {
		if gk[k] != wk[k] || (k == archive.KindState && wk[k] == 0) {
			t.Errorf("round 2: %d %s entries over Graph, %d over EWS", gk[k], k, wk[k])
		}
	}
}

// newTwinBeds returns a Graph engine bed on a generated org and the EWS
// Source over an EWS emulator of a second copy of it (same seed), with
// the archive folder for that Source.
func newTwinBeds(t *testing.T, seed int64, users int) (*engineBed, *ewstest.Org, export.Source, string) {
	t.Helper()
	b := newEngineBed(t, ewstest.Generate(seed, ewstest.OrgOptions{Users: users}))
	org := ewstest.Generate(seed, ewstest.OrgOptions{Users: users})
	ews, err := ewstest.Start(org, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ews.Close)
	c, err := exchange.New(exchange.Options{URL: ews.URL(), Username: ews.Username(), Password: ews.Password(), TrustCert: ews.Fingerprint()})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := b.src.Directory(context.Background()) // the same users and groups
	if err != nil {
		t.Fatal(err)
	}
	return b, org, exchange.NewSource(c, snap), t.TempDir()
}
