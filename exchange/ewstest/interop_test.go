package ewstest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/internal/testbed"
)

// python is Debian's interpreter, which has python3-exchangelib
// (installed by scripts/testbed-install); a python3 earlier on PATH
// (a virtualenv, another version) may not.
const python = "/usr/bin/python3"

// needExchangelib skips when exchangelib is not installed, or fails under
// CI=true.
func needExchangelib(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import exchangelib; print(exchangelib.__version__)").CombinedOutput()
	if err == nil {
		t.Logf("exchangelib %s", bytes.TrimSpace(out))
		return
	}
	if testbed.InCI() {
		t.Fatalf("python3-exchangelib not usable (CI=true); run scripts/testbed-install: %v: %s", err, out)
	}
	t.Skipf("python3-exchangelib not installed; run scripts/testbed-install (%v)", err)
}

type probe struct {
	APIVersion string   `json:"api_version"`
	Folders    []string `json:"folders"`
	Inbox      map[string]struct {
		Subject string `json:"subject"`
		SHA256  string `json:"sha256"`
		Size    int    `json:"size"`
	} `json:"inbox"`
	Calendar []string `json:"calendar"`
}

// TestExchangelib checks that an independent EWS client, exchangelib,
// can talk to the emulator in every personality: it lists the folders,
// reads the inbox with MIME and the calendar, and must see what the
// organisation holds.
func TestExchangelib(t *testing.T) {
	needExchangelib(t)
	builds := map[ewstest.Personality][4]int{
		ewstest.Exchange2007SP1: {8, 1, 240, 6},
		ewstest.Exchange2010SP2: {14, 2, 328, 11},
		ewstest.Exchange2013:    {15, 0, 1497, 2},
		ewstest.Exchange2016:    {15, 1, 761, 16},
	}
	wantAPI := map[ewstest.Personality]string{
		ewstest.Exchange2007SP1: "Exchange2007_SP1",
		ewstest.Exchange2010SP2: "Exchange2010_SP2",
		ewstest.Exchange2013:    "Exchange2013_SP1",
		ewstest.Exchange2016:    "Exchange2016",
	}
	type run struct {
		p    ewstest.Personality
		ntlm bool
	}
	var runs []run
	for _, p := range ewstest.Personalities {
		runs = append(runs, run{p, false})
	}
	runs = append(runs, run{ewstest.Exchange2010SP2, true}, run{ewstest.Exchange2016, true})
	for _, r := range runs {
		p := r.p
		name := p.String()
		if r.ntlm {
			name += "-NTLM"
		}
		t.Run(name, func(t *testing.T) {
			org := ewstest.Generate(5, ewstest.OrgOptions{})
			srv, err := ewstest.Start(org, &ewstest.Options{Personality: p, NTLM: r.ntlm})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			const mailbox = "bob@example.com"
			b := builds[p]
			cmd := exec.Command(python, "testdata/exchangelib_probe.py", srv.URL(), srv.Username(), mailbox,
				fmt.Sprint(b[0]), fmt.Sprint(b[1]), fmt.Sprint(b[2]), fmt.Sprint(b[3]))
			cmd.Env = append(os.Environ(), "EWS_PASSWORD="+srv.Password(), "PYTHONDONTWRITEBYTECODE=1")
			if r.ntlm {
				cmd.Env = append(cmd.Env, "EWS_AUTH=NTLM")
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("exchangelib: %v\n%s", err, stderr.String())
			}
			var got probe
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("probe output %q: %v", out, err)
			}
			if got.APIVersion != wantAPI[p] {
				t.Errorf("api_version = %q, want %q", got.APIVersion, wantAPI[p])
			}
			wantFolders := []string{"Archiv ", "Calendar", "Contacts", "Deleted Items", "Drafts", "Inbox", "Junk E-mail",
				"Notes", "Projekte", "Sent Items", "Tasks", "Übersicht 2024 / Q1"}
			if !slices.Equal(got.Folders, wantFolders) {
				t.Errorf("folders = %q, want %q", got.Folders, wantFolders)
			}
			ids := org.FolderItems(mailbox, "inbox")
			if len(got.Inbox) != len(ids) || len(ids) == 0 {
				t.Errorf("inbox = %d items, want %d", len(got.Inbox), len(ids))
			}
			for _, id := range ids {
				sum := sha256.Sum256(org.MIME(id))
				if g, ok := got.Inbox[id]; !ok || g.SHA256 != hex.EncodeToString(sum[:]) {
					t.Errorf("item %s: exchangelib saw %+v, want MIME sha256 %x (%d bytes)", id, g, sum, len(org.MIME(id)))
				}
			}
			if len(got.Calendar) != 3 || !slices.Contains(got.Calendar, "Weekly Jour fixe") {
				t.Errorf("calendar = %q, want 3 items with the weekly series", got.Calendar)
			}
			if basic, ntlm := srv.Logins("basic"), srv.Logins("ntlm"); (r.ntlm && (basic != 0 || ntlm == 0)) || (!r.ntlm && (basic == 0 || ntlm != 0)) {
				t.Errorf("logins: %d basic, %d ntlm; want only %s", basic, ntlm, map[bool]string{true: "ntlm", false: "basic"}[r.ntlm])
			}
			t.Logf("exchangelib %s: %d folders, %d inbox items with MIME, %d calendar items, %d requests",
				got.APIVersion, len(got.Folders), len(got.Inbox), len(got.Calendar), srv.Requests(""))
		})
	}
}
