package e2e

import (
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/iemproject/iem/exchange/ewstest"
	"github.com/iemproject/iem/internal/testbed"
	"github.com/iemproject/iem/replay"
)

// TestInboxRulesMove exports the generated org's five inbox rules over
// EWS and imports the mailbox: the rules are translated to a Sieve script
// in the archive's reports (IceWarp's own rules format is not verified),
// each rule is listed as not moved by name, the untranslatable one with
// its reason, and the script's folder targets are folders the import
// created on the target.
func TestInboxRulesMove(t *testing.T) {
	b := newBed(t, ewstest.OrgOptions{Users: 2}, &ewstest.Options{Personality: ewstest.Exchange2016})
	owner := b.ews.Org.Users[0].SMTP
	out, err := b.export()
	mustOK(t, "export", out, err)
	if n := b.ews.Requests("GetInboxRules"); n != 4 { // the two users, the shared and the room mailbox
		t.Errorf("GetInboxRules asked %d times, want 4", n)
	}
	out, err = b.importRun()
	mustOK(t, "import", out, err)
	file := "rules-" + owner + ".sieve"
	want := []string{
		`not moved ` + owner + `: 1 × inbox rule 1 "Mail from Bob Müller": ` + replay.RulesNotVerified + file,
		`not moved ` + owner + `: 1 × inbox rule 2 "Newsletters read": ` + replay.RulesNotVerified + file,
		`not moved ` + owner + `: 1 × inbox rule 3 "Invoices to accounting": ` + replay.RulesNotVerified + file,
		`not moved ` + owner + `: 1 × inbox rule 4 "Lottery \"wins\"": ` + replay.RulesNotVerified + file,
		`not moved ` + owner + `: 1 × inbox rule 5 "Project Apollo": not translated: condition on the message header (Exchange searches the whole header, Sieve only named fields); assign categories Apollo (IceWarp takes no keywords from a rule)`,
	}
	ruleLines(t, out, want)
	script, err := os.ReadFile(filepath.Join(b.arch, "reports", file))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("sievec", func(t *testing.T) {
		sievec := testbed.Need(t, "sievec")
		if out, err := exec.Command(sievec, filepath.Join(b.arch, "reports", file), filepath.Join(t.TempDir(), "rules.svbin")).CombinedOutput(); err != nil {
			t.Errorf("sievec: %v\n%s", err, out)
		}
	})
	for _, w := range []string{`if address :is "from" "bob@example.com" {`, `addflag "\\Seen";`,
		`redirect :copy "accounting@example.com";`, "if false {", `address :is "to" ["` + owner + `", "` + b.ews.Org.Users[0].Aliases[0] + `"]`, "# Rule 5: Project Apollo\n# Not translated: "} {
		if !strings.Contains(string(script), w) {
			t.Errorf("script lacks %q:\n%s", w, script)
		}
	}
	folders := b.iw.MailFolders(owner)
	targets := regexp.MustCompile(`fileinto "([^"]+)";`).FindAllStringSubmatch(string(script), -1)
	if len(targets) != 2 {
		t.Errorf("%d fileinto, want 2 (move, delete):\n%s", len(targets), script)
	}
	for _, m := range targets {
		if !slices.Contains(folders, m[1]) {
			t.Errorf("fileinto %q: no such folder on the target %q", m[1], folders)
		}
	}
	if _, err := os.Stat(filepath.Join(b.arch, "reports", "rules-"+b.ews.Org.Users[1].SMTP+".sieve")); !os.IsNotExist(err) {
		t.Errorf("a mailbox without rules has a script: %v", err)
	}
	htmlRows(t, filepath.Join(b.arch, "reports", "import-round-*.html"), want)

	// Round 2: the user deleted the rule IceWarp cannot take.
	b.ews.Org.SetInboxRules(owner, b.ews.Org.Users[0].InboxRules[:4])
	out, err = b.export()
	mustOK(t, "export round 2", out, err)
	out, err = b.importRun()
	mustOK(t, "import round 2", out, err)
	ruleLines(t, out, want[:4])
	if script, err = os.ReadFile(filepath.Join(b.arch, "reports", file)); err != nil || strings.Contains(string(script), "Apollo") {
		t.Errorf("round 2 script still has the deleted rule (%v):\n%s", err, script)
	}

	// An archive folder that takes no script: the import warns, goes on,
	// and does not claim a script it did not write.
	reports := filepath.Join(b.arch, "reports")
	if err := os.RemoveAll(reports); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(reports, []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = b.importRun()
	mustOK(t, "import without reports", out, err)
	lost := make([]string, 4)
	for i, w := range want[:4] {
		lost[i] = strings.Replace(w, replay.RulesNotVerified+file, replay.RulesNotWritten, 1)
	}
	ruleLines(t, out, lost)
}

// htmlRows checks that the HTML report glob names (one file) has a row
// for every summary line of lines ("KIND MAILBOX: N × REASON"): the
// mailbox, the kind, the count and the reason in their cells.
func htmlRows(t *testing.T, glob string, lines []string) {
	t.Helper()
	files, _ := filepath.Glob(glob)
	if len(files) != 1 {
		t.Fatalf("HTML reports %q: %v, want one", glob, files)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^(not moved|not asked) (\S+): (\d+) × (.*)$`)
	for _, l := range lines {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("summary line %q has no kind, mailbox, count and reason", l)
		}
		row := "<tr><td>" + m[2] + "</td><td>" + m[1] + "</td><td>" + m[3] + `</td><td class="reason">` + html.EscapeString(m[4]) + "</td></tr>"
		if !strings.Contains(string(data), row) {
			t.Errorf("%s lacks the row\n%s", files[0], row)
		}
	}
}

// ruleLines checks that the summary out lists exactly the rules want.
func ruleLines(t *testing.T, out string, want []string) {
	t.Helper()
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "not moved ") && strings.Contains(l, "inbox rule") {
			got = append(got, l)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("summary lists the rules as\n%s\nwant\n%s\n\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out)
	}
}

// TestInboxRules2007 exports from Exchange 2007 SP1, which has no
// GetInboxRules: it is not asked, and the summary says the rules were
// skipped because of the server version.
func TestInboxRules2007(t *testing.T) {
	b := newBed(t, ewstest.OrgOptions{Users: 2}, &ewstest.Options{Personality: ewstest.Exchange2007SP1})
	out, err := b.export()
	mustOK(t, "export", out, err)
	if n := b.ews.Requests("GetInboxRules"); n != 0 {
		t.Errorf("2007 SP1 was asked GetInboxRules %d times", n)
	}
	var notAsked []string
	for _, u := range b.ews.Org.Users {
		w := "not asked " + u.SMTP + ": 1 × inbox rules: the server version has no GetInboxRules (Exchange 2010 SP1 and later)"
		if !strings.Contains(out, w) {
			t.Errorf("summary lacks %q:\n%s", w, out)
		}
		notAsked = append(notAsked, w)
	}
	htmlRows(t, filepath.Join(b.arch, "reports", "export-round-*.html"), notAsked)
	if strings.Contains(out, "partial") {
		t.Errorf("rules not asked made the round partial:\n%s", out)
	}
	out, err = b.importRun()
	mustOK(t, "import", out, err)
	if strings.Contains(out, "inbox rule") {
		t.Errorf("import lists rules from a 2007 export:\n%s", out)
	}
}
